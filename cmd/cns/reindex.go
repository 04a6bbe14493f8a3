package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/internal/logging"
	"github.com/cns-dev/cns/store/bolt"
	redisstore "github.com/cns-dev/cns/store/redis"
)

// runReindex re-embeds the hypothesis of every SNO — in Redis when redis.url is set, else in `cns dev`'s
// data directory — with the configured embedder, so a store written under another NLP backend can be opened again (the
// boot check refuses mismatched dimensions). Trust scores are not recomputed: EvaluateSNO does that per
// SNO. Run it with the service stopped (bbolt allows one process).
func runReindex(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	fs := flagSet("reindex", stderr)
	data := fs.String("data", "", "data directory of cns dev (default ./.cns-data; env CNS_DATA_DIR)")
	cfgFile := fs.String("config", "", "YAML configuration file (env CNS_CONFIG)")
	if err := parse(fs, args); err != nil || helpRequested(args) {
		return err
	}
	set := map[string]string{}
	if *data != "" {
		set["data_dir"] = *data
	}
	cfg, err := loadConfig(*cfgFile, set, getenv)
	if err != nil {
		return err
	}
	log, err := logging.New(cfg.Log.Level, cfg.Log.Format)
	if err != nil {
		return err
	}
	emb, _, inUse, err := newNLP(&cfg.Config, log)
	if err != nil {
		return fmt.Errorf("reindex: nlp backend: %w", err)
	}
	// With redis.url configured the distributed store is re-embedded (the service may keep running: each
	// SNO is rewritten whole); otherwise `cns dev`'s embedded store, which must not be open elsewhere.
	var st cns.Store
	if c := &cfg.Config; c.Redis.URL != "" {
		rdb, err := newRedisClient(c)
		if err != nil {
			return err
		}
		defer rdb.Close()
		opts, err := storeOptions(c)
		if err != nil {
			return err
		}
		st = redisstore.New(rdb, "", opts...)
	} else {
		bst, err := bolt.Open(filepath.Join(cfg.DataDir, "cns.db"))
		if err != nil {
			return fmt.Errorf("reindex: %w", err)
		}
		defer bst.Close()
		st = bst
	}
	n, changed, err := reindex(ctx, st, emb)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "re-embedded %d SNOs (%d changed dimension) with %s\n", n, changed, inUse)
	return nil
}

// reindex re-embeds every SNO of st. The ids are collected first because a store may not allow writes
// during a scan.
func reindex(ctx context.Context, st cns.Store, emb cns.Embedder) (n, changed int, err error) {
	type key struct{ project, id string }
	var keys []key
	if err := st.ScanSNOs(ctx, func(s *cns.SNO) error {
		keys = append(keys, key{s.Project, s.ID})
		return nil
	}); err != nil {
		return 0, 0, fmt.Errorf("reindex: scan: %w", err)
	}
	for _, k := range keys {
		s, err := st.GetSNO(ctx, k.project, k.id)
		if err != nil {
			return n, changed, fmt.Errorf("reindex: load %s: %w", k.id, err)
		}
		v, err := emb.Embed(ctx, s.Hypothesis)
		if err != nil {
			return n, changed, fmt.Errorf("reindex: embed %s: %w", k.id, err)
		}
		if len(v) != len(s.Embedding) {
			changed++
		}
		s.Embedding = v
		if err := st.PutSNO(ctx, s); err != nil {
			return n, changed, fmt.Errorf("reindex: store %s: %w", k.id, err)
		}
		n++
	}
	return n, changed, nil
}
