package workers

import "github.com/cns-dev/cns/web/ui"

// Model is the view model of the workers page.
type Model struct {
	Shell     ui.Shell
	Available bool
	Rows      []Row
	Online    int
	Offline   int
}

// Row is one registered process.
type Row struct {
	Service, Instance, Version, Address string
	Concurrency                         int
	Started                             string
	Uptime                              string
	Heartbeat                           string
	HeartbeatISO                        string
	Online                              bool
}
