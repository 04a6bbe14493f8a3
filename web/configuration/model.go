package configuration

import "github.com/cns-dev/cns/web/ui"

// Model is the view model of the configuration page.
type Model struct {
	Shell  ui.Shell
	Query  string
	Groups []Group
	Count  int
}

// Group is the keys under one top-level section.
type Group struct {
	Name string
	Rows []Row
}

// Row is one effective value.
type Row struct {
	Key, Value, Source string
	Secret             bool
}
