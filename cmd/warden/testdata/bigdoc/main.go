// Command bigdoc writes the large synthetic policy document of issue 13 (50 organizations,
// 2,000 teams, 100,000 keys, 200 servers × 30 tools: models/resolver/gen.Large) as JSON, the
// input of the whole-process measurements in README "Speed". The output is a deterministic
// function of the flags.
//
//	go run ./cmd/warden/testdata/bigdoc > doc.json
//	go run ./cmd/warden/testdata/bigdoc -change-org org-007 > doc2.json  # one organization changed
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/warden-mcp/warden/models/resolver/gen"
)

func main() {
	small := flag.Bool("small", false, "the small size (gen.Small) instead of the large one")
	seed := flag.Uint64("seed", 1, "the generator's seed")
	changeOrg := flag.String("change-org", "", "change this organization (and only it): flip its blocked flag and add a denied tool")
	flag.Parse()
	cfg := gen.Large()
	if *small {
		cfg = gen.Small()
	}
	cfg.Seed = *seed
	doc := gen.Generate(cfg)
	if *changeOrg != "" {
		if err := gen.ChangeOrganization(doc, *changeOrg); err != nil {
			fmt.Fprintln(os.Stderr, "bigdoc:", err)
			os.Exit(2)
		}
	}
	if err := gen.WriteJSON(os.Stdout, doc); err != nil {
		fmt.Fprintln(os.Stderr, "bigdoc:", err)
		os.Exit(1)
	}
}
