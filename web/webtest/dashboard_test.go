package webtest

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/oklog/ulid/v2"
	"golang.org/x/crypto/bcrypt"
	"google.golang.org/protobuf/proto"

	"github.com/cns-dev/cns"
	busv1 "github.com/cns-dev/cns/proto/gen/cns/bus/v1"
	"github.com/cns-dev/cns/pubsub"
	"github.com/cns-dev/cns/store/bolt"
)

// narrative is a seeded SubmitNarrative request.
type narrative struct {
	Hypothesis string           `json:"hypothesis"`
	Claims     []map[string]any `json:"claims"`
	Edges      []map[string]any `json:"edges"`
	Evidence   []map[string]any `json:"evidence"`
}

func claim(id, text string) map[string]any { return map[string]any{"claimId": id, "text": text} }
func edge(from, to, rel string) map[string]any {
	return map[string]any{"from": from, "to": to, "relation": "RELATION_" + rel}
}
func evidence(source, content string, supports ...string) map[string]any {
	return map[string]any{"sourceId": source, "content": content, "supportsClaimIds": supports}
}

// burst is how many documents the queue test submits at once.
const burst = 40

// xssHypothesis would set window.__xss if the page ran it.
const xssHypothesis = `Green tea improves memory <script>window.__xss=1</script> in older adults.`

var narratives = []narrative{
	{
		Hypothesis: "Regular exercise improves sleep quality in adults.",
		Claims: []map[string]any{claim("c1", "In a trial of 200 adults, exercise increased deep sleep."),
			claim("c2", "Exercise lowers evening cortisol."), claim("c3", "Late workouts can delay sleep onset.")},
		Edges:    []map[string]any{edge("c1", "root", "SUPPORTS"), edge("c2", "c1", "EXPLAINS"), edge("c3", "root", "WEAKENS")},
		Evidence: []map[string]any{evidence("doi:10.1000/sleep-trial", "In a trial of 200 adults, exercise increased deep sleep.", "c1")},
	},
	{
		Hypothesis: "Coffee consumption lowers the risk of type 2 diabetes.",
		Claims: []map[string]any{claim("c1", "Cohort studies show fewer diabetes cases among coffee drinkers."),
			claim("c2", "Trials found no effect of coffee on insulin sensitivity.")},
		Edges:    []map[string]any{edge("c1", "root", "SUPPORTS"), edge("c2", "root", "CONTRADICTS")},
		Evidence: []map[string]any{evidence("https://doi.org/10.1000/cohort", "Fewer diabetes cases among coffee drinkers.", "c1")},
	},
	{
		Hypothesis: "Remote work increases the productivity of software teams.",
		Claims:     []map[string]any{claim("c1", "A survey of 1000 employees reported more output at home.")},
		Edges:      []map[string]any{edge("c1", "root", "SUPPORTS")},
		Evidence:   []map[string]any{evidence("https://example.org/survey", "A survey of 1000 employees reported more output at home.", "c1")},
	},
	{
		Hypothesis: xssHypothesis,
		Claims:     []map[string]any{claim("c1", "Catechins <b>cross</b> the blood-brain barrier."), claim("c2", "A trial showed better recall after 12 weeks.")},
		Edges:      []map[string]any{edge("c1", "root", "EXPLAINS"), edge("c2", "root", "SUPPORTS")},
		Evidence:   []map[string]any{evidence("doi:10.1000/tea", "Better recall after 12 weeks of green tea.", "c2")},
	},
	// A chiral pair: opposite hypotheses over the same trial.
	{
		Hypothesis: "Vitamin D supplements prevent respiratory infections.",
		Claims:     []map[string]any{claim("c1", "In the trial, fewer supplemented participants caught colds.")},
		Edges:      []map[string]any{edge("c1", "root", "SUPPORTS")},
		Evidence:   []map[string]any{evidence("doi:10.1000/vitd-rct", "A randomised trial of vitamin D and respiratory infections in 5000 adults.", "c1")},
	},
	{
		Hypothesis: "Vitamin D supplements do not prevent respiratory infections.",
		Claims:     []map[string]any{claim("c1", "In the trial, infection rates were the same in both groups.")},
		Edges:      []map[string]any{edge("c1", "root", "SUPPORTS")},
		Evidence:   []map[string]any{evidence("doi:10.1000/vitd-rct", "A randomised trial of vitamin D and respiratory infections in 5000 adults.", "c1")},
	},
}

// seeded is what the test put in the server and checks on the pages.
type seeded struct {
	snos          map[string]string // SNO id → hypothesis
	trust         map[string]string // SNO id → trust as the API reports it, formatted like the page
	exercise, xss string            // ids of two SNOs the test opens
	vitaminD      [2]string         // the chiral pair
	dlJobs        [2]string         // jobs of the two seeded dead letters
	dls           [2]string         // dead letter ids
}

// seedDeadLetters writes two failed ingestion jobs with their dead letters through the real store, as a
// worker would after the last failed delivery. It runs before the server starts (bbolt has one writer).
func seedDeadLetters(t *testing.T, dir string, s *seeded) {
	t.Helper()
	st, err := bolt.Open(filepath.Join(dir, "cns.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	now := time.Now().UTC().Add(-time.Minute)
	for i := range 2 {
		job := &cns.Job{ID: "job_" + strings.ToLower(ulid.Make().String()), Project: "dev", Kind: cns.JobIngestDocument, State: cns.JobQueued,
			Document: &cns.DocumentInput{Source: fmt.Sprintf("doi:10.1000/redrive-%d", i),
				Text: fmt.Sprintf("Daily walking reduces blood pressure in study %d. A cohort of 400 adults walked every day and their blood pressure fell. Therefore walking is good for the heart.", i)},
			CreatedAt: now, UpdatedAt: now}
		if _, _, err := st.CreateJob(ctx, job); err != nil {
			t.Fatal(err)
		}
		job.State, job.Attempts, job.ErrorCode, job.Error, job.FinishedAt = cns.JobFailed, 5, cns.EUNAVAILABLE, "embedding backend unavailable after 5 attempts", now
		payload, err := proto.Marshal(&busv1.ProcessJob{Project: "dev", JobId: job.ID})
		if err != nil {
			t.Fatal(err)
		}
		dl := &cns.DeadLetter{ID: "dl_" + strings.ToLower(ulid.Make().String()), Project: "dev", JobID: job.ID, Topic: pubsub.TopicJobs,
			Payload: payload, Reason: job.Error, Deliveries: 5, CreatedAt: now.Add(time.Duration(i) * time.Second)}
		if err := st.AddDeadLetter(ctx, dl, job); err != nil {
			t.Fatal(err)
		}
		s.dlJobs[i], s.dls[i] = job.ID, dl.ID
	}
}

// seedSNOs submits the narratives through the API and waits for their SNOs.
func seedSNOs(t *testing.T, srv *cnsServer, s *seeded) {
	t.Helper()
	s.snos, s.trust = map[string]string{}, map[string]string{}
	for i, n := range narratives {
		id, _ := srv.call(t, "/cns.v1.NarrativeService/SubmitNarrative", n)["jobId"].(string)
		sno := srv.waitJob(t, id)
		got, _ := srv.call(t, "/cns.v1.NarrativeService/GetSNO", map[string]string{"snoId": sno})["sno"].(map[string]any)
		trust, ok := got["trustScore"].(float64)
		if !ok {
			t.Fatalf("GetSNO %s has no trustScore: %v", sno, got)
		}
		s.snos[sno], s.trust[sno] = n.Hypothesis, strconv.FormatFloat(trust, 'f', 2, 64)
		switch i {
		case 0:
			s.exercise = sno
		case 3:
			s.xss = sno
		case 4, 5:
			s.vitaminD[i-4] = sno
		}
	}
}

// document is a realistic two-kilobyte text, different for every i.
func document(i int) string {
	sentences := []string{
		"Urban green spaces reduce stress among residents of district %d.",
		"A survey of %d households found lower cortisol near parks (doi:10.1000/parks-%d).",
		"However, noise from nearby traffic weakens the effect.",
		"Therefore cities should plan parks away from main roads.",
		"Tree cover also lowers summer temperatures by several degrees.",
	}
	var b strings.Builder
	for b.Len() < 2000 {
		for _, s := range sentences {
			if n := strings.Count(s, "%d"); n > 0 {
				args := make([]any, n)
				for j := range args {
					args[j] = i*7 + j + b.Len()
				}
				s = fmt.Sprintf(s, args...)
			}
			b.WriteString(s + " ")
		}
	}
	return b.String()
}

// TestDashboardInBrowser drives the real `cns dev` with headless Chromium: one browser, a tab per person.
func TestDashboardInBrowser(t *testing.T) {
	bin := buildCNS(t)
	dir := t.TempDir()
	var s seeded
	seedDeadLetters(t, dir, &s)
	hash, err := bcrypt.GenerateFromPassword([]byte("viewer password"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	srv := startCNS(t, bin, dir,
		"CNS_DASHBOARD_REFRESH_INTERVAL=250ms",
		"CNS_WORKER_CONCURRENCY=1", // a burst of jobs then stays visible in the queue for a while
		"CNS_LOG_LEVEL=warn",
		"CNS_DASHBOARD__USERS__VERA__PASSWORD_HASH="+string(hash),
		"CNS_DASHBOARD__USERS__VERA__ROLE=viewer",
		// Any two SNOs over shared evidence are a pair, whatever the calibration of chirality; no automatic
		// synthesis, so the job and SNO counts below stay the test's own.
		"CNS_PAIRS_MIN_CHIRALITY=0",
		"CNS_SYNTHESIS_AUTO_PER_SNO=0",
	)
	seedSNOs(t, srv, &s)
	b := browser(t)

	anon := tab(t, b)
	t.Run("unauthenticated pages redirect to sign-in", func(t *testing.T) {
		for _, p := range []string{"/", "/snos", "/dead-letters", "/config"} {
			do(t, anon, chromedp.Navigate(srv.url+p))
			if got := path(t, anon); !strings.HasPrefix(got, "/login") {
				t.Errorf("%s: landed on %s, want the sign-in page", p, got)
			}
		}
		if got := path(t, anon); got != "/login?next=%2Fconfig" {
			t.Errorf("sign-in does not remember where to go back: %s", got)
		}
		do(t, anon, chromedp.WaitVisible(chromedp.ID("token")))
		shot(t, anon, "01-sign-in")
		do(t, anon, chromedp.SendKeys(chromedp.ID("token"), "cns1.forged.token"), chromedp.Click(chromedp.CSS("#token-form button")))
		do(t, anon, chromedp.WaitVisible(chromedp.ID("signin-error")))
		if msg := text(t, anon, "#signin-error"); !strings.Contains(msg, "refused") {
			t.Errorf("a forged token gave %q, want a refusal", msg)
		}
	})

	op := tab(t, b)
	t.Run("operator signs in with the dev token and sees trust scores", func(t *testing.T) {
		do(t, op, chromedp.Navigate(srv.url+"/snos"))
		do(t, op, chromedp.WaitVisible(chromedp.ID("token")),
			chromedp.SendKeys(chromedp.ID("token"), srv.token),
			chromedp.Click(chromedp.CSS("#token-form button")))
		do(t, op, chromedp.WaitVisible(chromedp.ID("sno-table")))
		if got := path(t, op); got != "/snos" {
			t.Errorf("after sign-in the page is %s, want /snos", got)
		}
		if role := text(t, op, ".who .role"); role != "operator" {
			t.Errorf("role shown %q, want operator", role)
		}
		for id, want := range s.trust {
			got := text(t, op, fmt.Sprintf(`tr[data-sno=%q] .trust-value`, id))
			if got != want {
				t.Errorf("SNO %s shows trust %q, the API says %s", id, got, want)
			}
		}
		order := js[[]string](t, op, `[...document.querySelectorAll('#sno-table .trust-value')].map(e => e.textContent)`)
		for i := 1; i < len(order); i++ {
			if order[i-1] < order[i] {
				t.Errorf("table not ordered by trust: %v", order)
				break
			}
		}
		shot(t, op, "02-snos")
		do(t, op, chromedp.Navigate(srv.url+"/snos?min=0.99"))
		if n := js[int](t, op, `document.querySelectorAll('#sno-table tbody tr').length`); n != 0 {
			t.Errorf("min trust 0.99 still lists %d SNOs", n)
		}
		do(t, op, chromedp.Navigate(srv.url+"/snos?q=coffee&mode=text"))
		if rows := js[[]string](t, op, `[...document.querySelectorAll('#sno-table tbody tr')].map(r => r.dataset.sno)`); len(rows) != 1 || !strings.Contains(s.snos[rows[0]], "Coffee") {
			t.Errorf("text search for coffee listed %v", rows)
		}
	})

	t.Run("SNO detail shows the critic breakdown and the reasoning graph", func(t *testing.T) {
		do(t, op, chromedp.Navigate(srv.url+"/snos"))
		do(t, op, chromedp.Click(chromedp.CSS(fmt.Sprintf(`tr[data-sno=%q] td.hyp a`, s.exercise))))
		do(t, op, chromedp.WaitVisible(chromedp.CSS("svg.graph")))
		if h := text(t, op, "#hypothesis"); h != narratives[0].Hypothesis {
			t.Errorf("hypothesis shown %q", h)
		}
		if n := js[int](t, op, `document.querySelectorAll('svg.graph g.node').length`); n != 4 {
			t.Errorf("graph draws %d claims, want 4 (root and 3 claims)", n)
		}
		if n := js[int](t, op, `document.querySelectorAll('svg.graph g.edge').length`); n != 3 {
			t.Errorf("graph draws %d edges, want 3", n)
		}
		if n := js[int](t, op, `document.querySelectorAll('svg.graph g.edge.negative').length`); n != 1 {
			t.Errorf("graph draws %d arguing-against edges, want 1 (weakens)", n)
		}
		critics := js[[]string](t, op, `[...document.querySelectorAll('#critics tr[data-critic]')].map(r => r.dataset.critic)`)
		if strings.Join(critics, ",") != "grounding,logic,novelty" {
			t.Errorf("critic breakdown lists %v", critics)
		}
		if got := text(t, op, "#trust"); got != s.trust[s.exercise] {
			t.Errorf("detail trust %q, the API says %s", got, s.trust[s.exercise])
		}
		if href := js[string](t, op, `document.querySelector('#evidence a').href`); href != "https://doi.org/10.1000/sleep-trial" {
			t.Errorf("evidence links to %q", href)
		}
		if note := text(t, op, "#partners"); !strings.Contains(note, "No chiral partner found") {
			t.Errorf("an SNO sharing no evidence should say it has no partner: %q", note)
		}
		shot(t, op, "03-sno-detail")
		do(t, op, chromedp.SetValue(chromedp.ID("preset"), "exploration"), chromedp.Click(chromedp.CSS(`form[aria-label^="What-if"] button`)))
		do(t, op, chromedp.WaitVisible(chromedp.ID("whatif-trust")))
		if got := path(t, op); !strings.Contains(got, "preset=exploration") {
			t.Errorf("what-if went to %s", got)
		}
	})

	t.Run("a hypothesis containing a script tag renders as text", func(t *testing.T) {
		do(t, op, chromedp.Navigate(srv.url+"/snos/"+s.xss))
		do(t, op, chromedp.WaitVisible(chromedp.ID("hypothesis")))
		if h := text(t, op, "#hypothesis"); h != xssHypothesis {
			t.Errorf("hypothesis shown as %q, want the literal text %q", h, xssHypothesis)
		}
		if ran := js[bool](t, op, `window.__xss !== undefined`); ran {
			t.Error("the hypothesis's script ran")
		}
		if n := js[int](t, op, `document.querySelectorAll('main script, main b').length`); n != 0 {
			t.Errorf("%d elements were made from SNO text", n)
		}
		do(t, op, chromedp.Navigate(srv.url+"/snos"))
		if ran := js[bool](t, op, `window.__xss !== undefined`); ran {
			t.Error("the hypothesis's script ran in the table")
		}
		shot(t, op, "04-sno-escaped")
	})

	t.Run("queue depth changes without a reload", func(t *testing.T) {
		do(t, op, chromedp.Navigate(srv.url+"/"))
		do(t, op, chromedp.WaitVisible(chromedp.ID("population")))
		if got := text(t, op, "#population"); got != strconv.Itoa(len(narratives)) {
			t.Errorf("population %s, want %d", got, len(narratives))
		}
		before, _ := strconv.Atoi(text(t, op, "#jobs-succeeded"))
		js[int](t, op, `window.__noReload = 42`)
		var wg sync.WaitGroup
		errs := make(chan error, burst)
		for i := range burst {
			wg.Go(func() {
				_, err := srv.post("/cns.v1.NarrativeService/IngestDocument", map[string]string{"source": fmt.Sprintf("doi:10.1000/burst-%d", i), "text": document(i)})
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		// The page polls by itself: the queue fills, then drains as the one worker gets through it.
		waitJS(t, op, "the queue shows waiting jobs", `Number((document.querySelector('[data-queue] [data-col=length]') || {}).textContent) > 0`)
		shot(t, op, "05-overview-busy")
		waitJS(t, op, "every job succeeded", fmt.Sprintf(`Number(document.getElementById('jobs-succeeded').textContent) >= %d`, before+burst))
		waitJS(t, op, "the queue is empty again", `Number(document.querySelector('[data-queue] [data-col=length]').textContent) === 0`)
		if v := js[int](t, op, `window.__noReload || 0`); v != 42 {
			t.Error("the page reloaded; it should refresh its live part in place")
		}
		if peak := js[float64](t, op, `Number(document.querySelector('svg.line-chart').dataset.max)`); peak <= 0 {
			t.Errorf("the queue history chart never saw a waiting job (max %v)", peak)
		}
		if got := text(t, op, "#population"); got != strconv.Itoa(len(narratives)+burst) {
			t.Errorf("population %s after the burst, want %d", got, len(narratives)+burst)
		}
		shot(t, op, "06-overview")
	})

	t.Run("operator submits a document from the jobs page", func(t *testing.T) {
		do(t, op, chromedp.Navigate(srv.url+"/jobs"))
		do(t, op, chromedp.SendKeys(chromedp.ID("doc-source"), "doi:10.1000/form"),
			chromedp.SendKeys(chromedp.ID("doc-text"), "Reading to children improves their vocabulary. A study of 300 families found larger vocabularies. Therefore parents should read aloud daily."),
			chromedp.Click(chromedp.ID("submit-job")))
		do(t, op, chromedp.WaitVisible(chromedp.CSS("p.flash")))
		id := strings.TrimPrefix(path(t, op), "/jobs/")
		if !strings.HasPrefix(id, "job_") {
			t.Fatalf("after submitting, the page is %s", path(t, op))
		}
		srv.waitJob(t, id)
	})

	t.Run("failed jobs are one click away", func(t *testing.T) {
		do(t, op, chromedp.Navigate(srv.url+"/jobs"))
		do(t, op, chromedp.Click(chromedp.CSS("a.tab-failed")))
		do(t, op, chromedp.WaitVisible(chromedp.ID("job-table")))
		if got := path(t, op); got != "/jobs?state=failed" {
			t.Errorf("failed tab leads to %s", got)
		}
		states := js[[]string](t, op, `[...document.querySelectorAll('#job-table tr[data-job]')].map(r => r.dataset.state)`)
		if len(states) != 2 || states[0] != "failed" || states[1] != "failed" {
			t.Errorf("failed filter lists states %v, want the 2 seeded failed jobs", states)
		}
		shot(t, op, "07-jobs-failed")
		do(t, op, chromedp.Click(chromedp.CSS(fmt.Sprintf(`tr[data-job=%q] a`, s.dlJobs[0]))))
		do(t, op, chromedp.WaitVisible(chromedp.ID("job-error")))
		if e := text(t, op, "#job-error"); !strings.Contains(e, "embedding backend unavailable") {
			t.Errorf("job error shown %q", e)
		}
		if a := text(t, op, "#attempts"); a != "5" {
			t.Errorf("attempts shown %q, want 5", a)
		}
		shot(t, op, "08-job-detail")
	})

	t.Run("operator redrives a dead letter", func(t *testing.T) {
		do(t, op, chromedp.Navigate(srv.url+"/dead-letters"))
		do(t, op, chromedp.WaitVisible(chromedp.ID("dead-letters")))
		if n := js[int](t, op, `document.querySelectorAll('#dead-letters tr[data-dead-letter]').length`); n != 2 {
			t.Fatalf("%d dead letters listed, want 2", n)
		}
		shot(t, op, "09-dead-letters")
		do(t, op, chromedp.Click(chromedp.ID("sel-"+s.dls[0])), chromedp.Click(chromedp.ID("redrive-selected")))
		do(t, op, chromedp.WaitVisible(chromedp.CSS("p.flash")))
		if f := text(t, op, "p.flash"); !strings.Contains(f, "Redrove 1 dead letter") {
			t.Errorf("notice after redrive: %q", f)
		}
		left := js[[]string](t, op, `[...document.querySelectorAll('#dead-letters tr[data-dead-letter]')].map(r => r.dataset.deadLetter)`)
		if len(left) != 1 || left[0] != s.dls[1] {
			t.Errorf("after redriving %s the page lists %v", s.dls[0], left)
		}
		// The redriven job really runs again, and now succeeds.
		srv.waitJob(t, s.dlJobs[0])
	})

	viewer := tab(t, b)
	t.Run("viewer signs in with a password and is refused actions", func(t *testing.T) {
		do(t, viewer, chromedp.Navigate(srv.url+"/dead-letters"))
		do(t, viewer, chromedp.WaitVisible(chromedp.ID("password-form")),
			chromedp.SendKeys(chromedp.ID("username"), "vera"),
			chromedp.SendKeys(chromedp.ID("password"), "viewer password"),
			chromedp.Click(chromedp.CSS("#password-form button")))
		do(t, viewer, chromedp.WaitVisible(chromedp.ID("dead-letters")))
		if role := text(t, viewer, ".who .role"); role != "viewer" {
			t.Errorf("role shown %q, want viewer", role)
		}
		if n := js[int](t, viewer, `document.querySelectorAll('#redrive-selected, #purge-all, input[name=id]').length`); n != 0 {
			t.Errorf("a viewer is offered %d redrive/purge controls", n)
		}
		if !strings.Contains(text(t, viewer, "main"), "needs the operator role") {
			t.Error("the page does not tell a viewer why there is no redrive")
		}
		shot(t, viewer, "10-dead-letters-viewer")
		// Even a well-formed request with the session's CSRF token is refused on the server.
		status := run(t, viewer, chromedp.Evaluate[int](`fetch('/dead-letters/redrive', {method: 'POST',
			headers: {'X-CSRF-Token': JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRF-Token'],
			          'Content-Type': 'application/x-www-form-urlencoded'}, body: 'all=1'}).then(r => r.status)`, chromedp.EvalAwaitPromise))
		if status != http.StatusForbidden {
			t.Errorf("a viewer's redrive answered %d, want 403", status)
		}
		do(t, viewer, chromedp.Navigate(srv.url+"/dead-letters"))
		if n := js[int](t, viewer, `document.querySelectorAll('#dead-letters tr[data-dead-letter]').length`); n != 1 {
			t.Errorf("after the refused redrive %d dead letters are listed, want 1", n)
		}
		if state, _ := srv.job(t, s.dlJobs[1]); state != "JOB_STATE_FAILED" {
			t.Errorf("the viewer's refused redrive changed the job to %s", state)
		}
		do(t, viewer, chromedp.Navigate(srv.url+"/snos/"+s.exercise))
		if n := js[int](t, viewer, `document.querySelectorAll('#archive, #rescore').length`); n != 0 {
			t.Error("a viewer is offered archive or re-score")
		}
	})

	t.Run("a cross-origin POST is refused", func(t *testing.T) {
		// Another site (localhost is not 127.0.0.1's site) auto-submits a form to the dashboard in the
		// operator's browser, which holds a session cookie.
		evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprintf(w, `<!doctype html><form id="f" method="post" action="%s/dead-letters/purge"><input name="all" value="1"></form>
<script>document.getElementById('f').submit()</script>`, srv.url)
		}))
		defer evil.Close()
		do(t, op, chromedp.Navigate(strings.Replace(evil.URL, "127.0.0.1", "localhost", 1)))
		waitJS(t, op, "the forged form was answered", `location.pathname === '/dead-letters/purge'`)
		if body := text(t, op, "body"); !strings.Contains(body, "Cross-origin request refused") {
			t.Errorf("the forged purge was answered with %q", body)
		}
		shot(t, op, "11-cross-origin-refused")
		do(t, op, chromedp.Navigate(srv.url+"/dead-letters"))
		if n := js[int](t, op, `document.querySelectorAll('#dead-letters tr[data-dead-letter]').length`); n != 1 {
			t.Errorf("after the forged purge %d dead letters are listed, want 1", n)
		}
	})

	t.Run("every page renders", func(t *testing.T) {
		total := len(narratives) + burst + 2
		pages := []struct{ path, name, want string }{
			{"/trust?status=all", "12-trust", "#h-trust"},
			{"/workers", "14-workers", "#workers"},
			{"/config", "15-config", `tr[data-key="dashboard.refresh_interval"]`},
		}
		for _, p := range pages {
			do(t, op, chromedp.Navigate(srv.url+p.path))
			do(t, op, chromedp.WaitVisible(chromedp.CSS(p.want)))
			shot(t, op, p.name)
			if p.name == "12-trust" {
				if n := js[int](t, op, `document.querySelectorAll('#h-trust svg rect.bin').length`); n != 20 {
					t.Errorf("trust histogram has %d bins, want 20", n)
				}
				if n := js[int](t, op, `Number(document.querySelector('#h-trust svg').dataset.total)`); n != total {
					// Seeded narratives, the burst, the document from the form and the redriven job.
					t.Errorf("trust histogram counts %d SNOs, want %d", n, total)
				}
			}
		}
		if v := text(t, op, `tr[data-key="dashboard.users.vera.password_hash"] td.value`); v != "[redacted]" {
			t.Errorf("a password hash is shown as %q", v)
		}
		if src := text(t, op, `tr[data-key="dashboard.refresh_interval"] .badge`); src != "env" {
			t.Errorf("dashboard.refresh_interval source %q, want env", src)
		}
		if html := js[string](t, op, `document.documentElement.outerHTML`); strings.Contains(html, string(hash)) {
			t.Error("the configuration page leaks a password hash")
		}
	})

	t.Run("chiral pairs are ranked with their shared evidence", func(t *testing.T) {
		// Discovery runs after each SNO is stored; look until it has.
		deadline := time.Now().Add(step)
		for {
			do(t, op, chromedp.Navigate(srv.url+"/pairs"))
			if js[int](t, op, `document.querySelectorAll('#pairs tbody tr').length`) > 0 || time.Now().After(deadline) {
				break
			}
			time.Sleep(200 * time.Millisecond)
		}
		rows := js[[]string](t, op, `[...document.querySelectorAll('#pairs tbody tr')].map(r => r.textContent)`)
		if len(rows) != 1 {
			t.Fatalf("pairs page lists %d pairs, want the one seeded: %q", len(rows), rows)
		}
		for _, want := range []string{narratives[4].Hypothesis, narratives[5].Hypothesis, "doi:10.1000/vitd-rct"} {
			if !strings.Contains(rows[0], want) {
				t.Errorf("the pair row lacks %q: %q", want, rows[0])
			}
		}
		shot(t, op, "13-pairs")
		do(t, op, chromedp.Navigate(srv.url+"/snos/"+s.vitaminD[0]))
		if partner := text(t, op, "#partners tbody"); !strings.Contains(partner, narratives[5].Hypothesis) {
			t.Errorf("the SNO detail does not list its chiral partner: %q", partner)
		}
	})

	t.Run("phone and dark mode", func(t *testing.T) {
		do(t, op, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulateScale(2)))
		do(t, op, chromedp.Navigate(srv.url+"/"))
		do(t, op, chromedp.WaitVisible(chromedp.ID("population")))
		if w := js[int](t, op, `document.documentElement.scrollWidth`); w > 390 {
			t.Errorf("the overview is %dpx wide on a 390px phone", w)
		}
		shot(t, op, "16-overview-phone")
		do(t, op, chromedp.EmulateViewport(1366, 900))
		darkMode(t, op, true)
		do(t, op, chromedp.Navigate(srv.url+"/snos/"+s.exercise))
		do(t, op, chromedp.WaitVisible(chromedp.CSS("svg.graph")))
		if bg := js[string](t, op, `getComputedStyle(document.body).backgroundColor`); bg != "rgb(15, 18, 22)" {
			t.Errorf("dark mode background %s", bg)
		}
		shot(t, op, "17-sno-detail-dark")
		darkMode(t, op, false)
	})

	t.Run("keyboard: skip link and focus order", func(t *testing.T) {
		do(t, op, chromedp.Navigate(srv.url+"/"), chromedp.WaitVisible(chromedp.ID("population")))
		do(t, op, chromedp.KeyEvent("\t"))
		if f := js[string](t, op, `document.activeElement.textContent`); f != "Skip to content" {
			t.Errorf("first Tab focuses %q, want the skip link", f)
		}
		do(t, op, chromedp.KeyEvent("\r"))
		if f := js[string](t, op, `document.activeElement.id`); f != "main" {
			t.Errorf("the skip link moves focus to %q, want main", f)
		}
	})

	t.Run("sign out", func(t *testing.T) {
		do(t, op, chromedp.Navigate(srv.url+"/"), chromedp.Click(chromedp.CSS(".who button")))
		do(t, op, chromedp.WaitVisible(chromedp.ID("token")))
		if f := text(t, op, "p.flash"); f != "Signed out." {
			t.Errorf("notice after signing out: %q", f)
		}
		do(t, op, chromedp.Navigate(srv.url+"/jobs"))
		if got := path(t, op); !strings.HasPrefix(got, "/login") {
			t.Errorf("after signing out /jobs shows %s", got)
		}
	})
}
