package trust

import (
	"github.com/cns-dev/cns/web/chart"
	"github.com/cns-dev/cns/web/ui"
)

// Model is the view model of the trust distribution page.
type Model struct {
	Shell      ui.Shell
	Statuses   []Option
	Count      int
	Truncated  bool // more SNOs exist than the page looked at
	Limit      int
	Histograms []Hist
}

// Option is one choice of the status filter.
type Option struct {
	Value, Label string
	Selected     bool
}

// Hist is one histogram with its summary.
type Hist struct {
	ID     string
	Title  string
	Chart  chart.Histogram
	Count  int
	Mean   string
	Median string
	Min    string
	Max    string
}
