//go:build race

package webtest

// raceEnabled makes the server binary mirror the test run: built with -race when the tests are.
const raceEnabled = true
