package web

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed static/htmx.min.js static/app.css
var staticFS embed.FS

// asset is an embedded file served under a URL that names its content hash, so browsers cache it for a
// year and a new build's file is fetched at once.
type asset struct {
	url   string
	ctype string
	body  []byte
}

func loadAssets() (map[string]asset, error) {
	out := map[string]asset{}
	for name, ctype := range map[string]string{"htmx.min.js": "text/javascript; charset=utf-8", "app.css": "text/css; charset=utf-8"} {
		b, err := fs.ReadFile(staticFS, "static/"+name)
		if err != nil {
			return nil, err
		}
		sum := sha256.Sum256(b)
		out[name] = asset{url: "/static/" + name + "?v=" + hex.EncodeToString(sum[:6]), ctype: ctype, body: b}
	}
	return out, nil
}

func (d *Dashboard) serveStatic(w http.ResponseWriter, r *http.Request) {
	a, ok := d.assets[strings.TrimPrefix(r.URL.Path, "/static/")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", a.ctype)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if r.URL.Query().Get("v") != "" {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	}
	w.Write(a.body)
}
