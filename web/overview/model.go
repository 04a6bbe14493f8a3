package overview

import (
	"github.com/cns-dev/cns/web/chart"
	"github.com/cns-dev/cns/web/ui"
)

// Model is the view model of the overview page.
type Model struct {
	Shell ui.Shell
	Live  Live
}

// Live is the part of the overview that refreshes itself.
type Live struct {
	Trigger      string // hx-trigger, e.g. "every 5s"
	Refresh      string // the interval in words
	Population   int
	ByStatus     []Count
	AverageTrust string
	PerMinute    string
	Jobs         []Count
	Queues       []QueueRow
	Chart        chart.Line
	HistoryNote  string
	Processes    []ProcessRow
	UpdatedAt    string
	UpdatedISO   string
}

// Count is one labelled number.
type Count struct {
	Key   string // machine name, e.g. "failed"
	Label string
	N     int
	Href  string // where the number leads, if anywhere
}

// QueueRow is one queue's depth.
type QueueRow struct {
	Name                 string
	Length, Pending, Lag int64
	Oldest               string
}

// ProcessRow is one live process.
type ProcessRow struct {
	Service, Instance, Version, Address string
	Concurrency                         int
	Heartbeat                           string // "2s ago"
	HeartbeatISO                        string
	Online                              bool
}
