package gen

import (
	"reflect"
	"testing"
)

func TestGenerate(t *testing.T) {
	cfg := Small()
	d := Generate(cfg)
	if len(d.Servers) != cfg.Servers || len(d.Organizations) != cfg.Organizations || len(d.Teams) != cfg.Teams ||
		len(d.Keys) != cfg.Keys || len(d.Agents) != cfg.Agents || len(d.EndUsers) != cfg.EndUsers {
		t.Fatalf("sizes: %d servers, %d orgs, %d teams, %d keys", len(d.Servers), len(d.Organizations), len(d.Teams), len(d.Keys))
	}
	big := 0
	for _, k := range d.Keys {
		if k.Organization == OrgName(0) {
			big++
		}
	}
	if big != cfg.BigOrgKeys {
		t.Fatalf("%d keys in %s, want %d", big, OrgName(0), cfg.BigOrgKeys)
	}
	if !reflect.DeepEqual(d, Generate(cfg)) {
		t.Fatal("not deterministic")
	}
	cfg.Seed++
	if reflect.DeepEqual(d, Generate(cfg)) {
		t.Fatal("seed ignored")
	}
}
