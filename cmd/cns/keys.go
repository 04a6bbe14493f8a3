package main

import (
	"context"
	"fmt"
	"io"

	redisstore "github.com/cns-dev/cns/store/redis"
)

// runKeys runs `cns keys rotate`: re-encrypt every record not sealed with redis.encryption_key_id. It
// runs beside a live service (records written meanwhile already use the current key).
func runKeys(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 || args[0] != "rotate" {
		return usageError{"usage: cns keys rotate [--config FILE]"}
	}
	fs := flagSet("keys rotate", stderr)
	cfgFile := fs.String("config", "", "YAML configuration file (env CNS_CONFIG)")
	if err := parse(fs, args[1:]); err != nil || helpRequested(args) {
		return err
	}
	cfg, err := loadConfig(*cfgFile, nil, getenv)
	if err != nil {
		return err
	}
	c := &cfg.Config
	if c.Redis.URL == "" || c.Redis.EncryptionKeyID == "" {
		return fmt.Errorf("cns keys rotate needs redis.url and redis.encryption_key_id")
	}
	rdb, err := newRedisClient(c)
	if err != nil {
		return err
	}
	defer rdb.Close()
	opts, err := storeOptions(c)
	if err != nil {
		return err
	}
	n, err := redisstore.New(rdb, "", opts...).Rotate(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "re-encrypted %d records with key %s\n", n, c.Redis.EncryptionKeyID)
	return nil
}
