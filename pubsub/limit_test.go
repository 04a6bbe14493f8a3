package pubsub_test

import (
	"context"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill/message"

	"github.com/cns-dev/cns/pubsub"
)

// TestLimitAndLeaveWindow: Limit(1) runs one handler at a time; a handler that calls LeaveWindow lets
// the next message start while it is still finishing, and gives its slot back only once.
func TestLimitAndLeaveWindow(t *testing.T) {
	t.Parallel()
	started := make(chan string, 4)
	gates := map[string]chan struct{}{"first": make(chan struct{}), "second": make(chan struct{}),
		"third": make(chan struct{}), "fourth": make(chan struct{})}
	leave := make(chan struct{})
	h := pubsub.Limit(1)(func(msg *message.Message) ([]*message.Message, error) {
		started <- msg.UUID
		if msg.UUID == "first" {
			<-leave
			pubsub.LeaveWindow(msg)
			pubsub.LeaveWindow(msg) // twice is once
		}
		<-gates[msg.UUID]
		return nil, nil
	})
	run := func(uuid string) chan error {
		done := make(chan error, 1)
		msg := message.NewMessage(uuid, nil)
		msg.SetContext(context.Background())
		go func() { _, err := h(msg); done <- err }()
		return done
	}
	wantStart := func(want string) {
		t.Helper()
		select {
		case got := <-started:
			if got != want {
				t.Fatalf("%s started, want %s", got, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%s did not start", want)
		}
	}
	noStart := func(why string) {
		t.Helper()
		select {
		case got := <-started:
			t.Fatalf("%s started %s", got, why)
		case <-time.After(200 * time.Millisecond):
		}
	}
	first := run("first")
	wantStart("first")
	second := run("second")
	noStart("while the first held the only slot")
	close(leave)
	wantStart("second") // the first left the window, still running
	third := run("third")
	noStart("while the second held the only slot (the first gave its slot back once)")
	close(gates["first"])
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	noStart("when the first, which had left, returned")
	close(gates["second"])
	wantStart("third")
	close(gates["third"])
	for _, d := range []chan error{second, third} {
		if err := <-d; err != nil {
			t.Fatal(err)
		}
	}
}
