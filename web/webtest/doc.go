// Package webtest holds the dashboard's browser tests. They build the real cns binary, start `cns dev` on
// port 0 with seeded data (SNOs through the API, dead letters through the real store before start), and
// drive it with headless Chromium through chromedp: sign-in, SNO table and detail, live queue depth, the
// operator's redrive, a viewer's refusal, cross-origin refusal and escaping. Screenshots of every page go
// to artifacts/ (gitignored; CNS_WEBTEST_ARTIFACTS overrides the folder).
package webtest
