package deadletters

import "github.com/cns-dev/cns/web/ui"

// Model is the view model of the dead letters page.
type Model struct {
	Shell      ui.Shell
	Rows       []Row
	CanOperate bool
}

// Row is one dead letter.
type Row struct {
	ID         string
	JobID      string
	JobHref    string
	Topic      string
	Reason     string
	Deliveries int
	Created    string
	CreatedISO string
}
