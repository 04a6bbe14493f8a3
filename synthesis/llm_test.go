package synthesis

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/cns-dev/cns"
)

const testKey = "sk-test-DO-NOT-LEAK-4242"

// chatServer is an OpenAI-compatible chat-completions endpoint whose answers a test scripts, one handler
// per request (the last one repeats).
type chatServer struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	script []func(w http.ResponseWriter)
	reqs   []recorded
}

type recorded struct {
	path, auth string
	body       chatRequest
}

func newChatServer(t *testing.T, script ...func(w http.ResponseWriter)) *chatServer {
	cs := &chatServer{t: t, script: script}
	cs.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body chatRequest
		raw, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(raw, &body); err != nil {
			t.Errorf("request body is not JSON: %v", err)
		}
		cs.mu.Lock()
		cs.reqs = append(cs.reqs, recorded{r.URL.Path, r.Header.Get("Authorization"), body})
		i := min(len(cs.reqs), len(cs.script)) - 1
		h := cs.script[i]
		cs.mu.Unlock()
		h(w)
	}))
	t.Cleanup(cs.srv.Close)
	return cs
}

func (cs *chatServer) calls() int {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return len(cs.reqs)
}

// completion answers a chat completion with the given content, finish reason and token usage.
func completion(content, finish string, tokens int) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":%q,"refusal":null},"logprobs":null,"finish_reason":%q}],"usage":{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d}}`,
			content, finish, tokens/2, tokens-tokens/2, tokens)
	}
}

func status(code int, body string, header ...string) func(w http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(code)
		io.WriteString(w, body)
	}
}

const goodOutput = `{"hypothesis": "Exercise improves sleep in older adults who train under supervision, not in unsupervised cohorts.",
 "strategy": "dialectical",
 "claims": [{"id": "c1", "text": "Supervised trials show better sleep."}, {"id": "c2", "text": "Unsupervised cohorts show no difference."}],
 "edges": [{"from": "c1", "to": "root", "relation": "supports", "strength": 0.8}, {"from": "c2", "to": "root", "relation": "explains"}],
 "evidence": [{"id": "doi:10.1/trial", "supports": ["c1"]}, {"id": "url:https://example.org/cohort", "supports": ["c2"]}],
 "rationale": "Supervision separates the two findings."}`

func request() cns.SynthesisRequest {
	a := &cns.SNO{ID: "sno_a", Project: "p1", Hypothesis: "Exercise improves sleep.", Graph: cns.Graph{
		Claims: []cns.Claim{{ID: "root", Text: "Exercise improves sleep."}, {ID: "c1", Text: "A trial found better sleep."}},
		Edges:  []cns.Edge{{From: "c1", To: "root", Relation: cns.RelationSupports, Strength: 1}}},
		Evidence: []cns.Evidence{{ID: "doi:10.1/trial", Content: "Better sleep after supervised exercise."}}}
	b := &cns.SNO{ID: "sno_b", Project: "p1", Hypothesis: "Exercise does not improve sleep.", Graph: cns.NewGraph("Exercise does not improve sleep."),
		Evidence: []cns.Evidence{{ID: "doi:10.1/trial", Content: "Better sleep after supervised exercise."}, {ID: "url:https://example.org/cohort", Content: "No difference."}}}
	return cns.SynthesisRequest{A: a, B: b, Pair: cns.Pair{Project: "p1", A: "sno_a", B: "sno_b", Chirality: 0.9, Entanglement: 0.5,
		Contradiction: 0.92, SharedEvidenceIDs: []string{"doi:10.1/trial"},
		ConflictPoints: []cns.ConflictPoint{{ClaimA: "root", ClaimB: "root", TextA: a.Hypothesis, TextB: b.Hypothesis, Contradiction: 0.92}}}}
}

type meter struct {
	mu      sync.Mutex
	spent   int
	refuse  bool
	allowed int
}

func (m *meter) AllowTokens(context.Context, string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.allowed++
	if m.refuse {
		return cns.Errorf(cns.EEXHAUSTED, "token budget spent")
	}
	return nil
}

func (m *meter) SpendTokens(_ context.Context, project string, n int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if project != "p1" {
		panic("tokens spent for project " + project)
	}
	m.spent += n
	return nil
}

// client returns an LLM client of cs with short timeouts, its recorded backoff sleeps and its logs.
func client(t *testing.T, cs *chatServer, mod func(*LLMConfig)) (*LLM, *[]time.Duration, *observer.ObservedLogs) {
	core, logs := observer.New(zap.DebugLevel)
	cfg := LLMConfig{BaseURL: cs.srv.URL + "/v1/", Model: "test-model", APIKey: testKey, Timeout: 2 * time.Second, MaxAttempts: 3,
		Backoff: 10 * time.Millisecond, MaxBackoff: 5 * time.Second, MaxTokens: 512, Temperature: 0.2, Log: zap.New(core)}
	if mod != nil {
		mod(&cfg)
	}
	l, err := NewLLM(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	sleeps := &[]time.Duration{}
	l.sleep = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		*sleeps = append(*sleeps, d)
		mu.Unlock()
		return ctx.Err()
	}
	return l, sleeps, logs
}

// noSecret fails when the key shows up in err or in any log entry.
func noSecret(t *testing.T, err error, logs *observer.ObservedLogs) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), testKey) {
		t.Fatalf("the API key is in the error: %v", err)
	}
	for _, e := range logs.All() {
		b, _ := json.Marshal(e.ContextMap())
		if strings.Contains(e.Message+string(b), testKey) {
			t.Fatalf("the API key is in a log entry: %s %s", e.Message, b)
		}
	}
}

func TestLLMSynthesizes(t *testing.T) {
	t.Parallel()
	cs := newChatServer(t, completion(goodOutput, "stop", 900))
	m := &meter{}
	l, sleeps, logs := client(t, cs, func(c *LLMConfig) { c.Meter = m })
	if l.Name() != "synthesis/openai:test-model@1" {
		t.Fatalf("Name = %s", l.Name())
	}
	out, err := l.Synthesize(context.Background(), request())
	if err != nil {
		t.Fatal(err)
	}
	noSecret(t, err, logs)
	if out.Hypothesis == "" || out.Strategy != StrategyDialectical || out.TokensUsed != 900 || out.Rationale == "" {
		t.Fatalf("synthesis = %+v", out)
	}
	if err := out.Graph.Validate(); err != nil || len(out.Graph.Claims) != 3 || len(out.Graph.Edges) != 2 {
		t.Fatalf("graph %+v: %v", out.Graph, err)
	}
	if out.Graph.Edges[1].Strength != 1 {
		t.Fatalf("an omitted strength is 1, got %v", out.Graph.Edges[1].Strength)
	}
	if len(out.Evidence) != 2 || out.Evidence[1].Content != "No difference." || out.Evidence[1].SupportsClaimIDs[0] != "c2" {
		t.Fatalf("evidence = %+v", out.Evidence)
	}
	if m.spent != 900 || m.allowed != 1 || len(*sleeps) != 0 {
		t.Fatalf("meter spent %d allowed %d; sleeps %v", m.spent, m.allowed, *sleeps)
	}
	// The request: the wire format, the key as a bearer token, the four prompt sections in order.
	r := cs.reqs[0]
	if r.path != "/v1/chat/completions" || r.auth != "Bearer "+testKey {
		t.Fatalf("request to %s with auth %q", r.path, r.auth)
	}
	if r.body.Model != "test-model" || r.body.MaxTokens != 512 || r.body.Temperature != 0.2 || r.body.ResponseFormat["type"] != "json_object" ||
		len(r.body.Messages) != 2 || r.body.Messages[0].Role != "system" || r.body.Messages[1].Role != "user" {
		t.Fatalf("request body = %+v", r.body)
	}
	prompt := r.body.Messages[1].Content
	last := -1
	for _, sec := range []string{"## NARRATIVE_A", "## NARRATIVE_B", "## CONFLICT_ANALYSIS", "## SYNTHESIS_TASK"} {
		i := strings.Index(prompt, sec)
		if i <= last {
			t.Fatalf("section %s missing or out of order in:\n%s", sec, prompt)
		}
		last = i
	}
	for _, want := range []string{"evidence doi:10.1/trial: Better sleep", "shared evidence ids: doi:10.1/trial", "chirality C = 0.900", "dialectical"} {
		if !strings.Contains(prompt, want) {
			t.Errorf("prompt lacks %q", want)
		}
	}
}

func TestLLMRetriesMalformedAndSlow(t *testing.T) {
	t.Parallel()
	slow := func(w http.ResponseWriter) {
		time.Sleep(400 * time.Millisecond)
		completion(goodOutput, "stop", 10)(w)
	}
	cs := newChatServer(t,
		completion(`{"hypothesis": "unfinished`, "stop", 100), // malformed JSON content
		slow, // longer than the request timeout
		completion("```json\n"+goodOutput+"\n```", "stop", 300)) // fenced: accepted
	m := &meter{}
	l, sleeps, logs := client(t, cs, func(c *LLMConfig) { c.Timeout = 150 * time.Millisecond; c.Meter = m })
	out, err := l.Synthesize(context.Background(), request())
	if err != nil {
		t.Fatal(err)
	}
	noSecret(t, err, logs)
	if cs.calls() != 3 || len(*sleeps) != 2 {
		t.Fatalf("%d calls, sleeps %v; want 3 calls and 2 backoffs", cs.calls(), *sleeps)
	}
	if (*sleeps)[1] < (*sleeps)[0] {
		t.Fatalf("backoff does not grow: %v", *sleeps)
	}
	// The tokens of the malformed answer were spent too (the slow one never answered).
	if out.TokensUsed != 400 || m.spent != 400 || m.allowed != 3 {
		t.Fatalf("tokens used %d, spent %d, allowed %d; want 400, 400, 3", out.TokensUsed, m.spent, m.allowed)
	}
}

func TestLLMFailures(t *testing.T) {
	t.Parallel()
	truncatedBody := func(w http.ResponseWriter) {
		// Promise more than is sent, then cut the connection: the client sees an unexpected EOF.
		w.Header().Set("Content-Length", "1000")
		w.WriteHeader(200)
		io.WriteString(w, `{"choices":[{"message":{"content":"{\"hyp`)
		if hj, ok := w.(http.Hijacker); ok {
			c, _, _ := hj.Hijack()
			c.Close()
		}
	}
	cases := []struct {
		name     string
		script   []func(w http.ResponseWriter)
		code     string
		calls    int
		contains string
	}{
		{"refusal field", []func(w http.ResponseWriter){func(w http.ResponseWriter) {
			io.WriteString(w, `{"choices":[{"message":{"role":"assistant","content":null,"refusal":"I can't help with that."},"finish_reason":"stop"}],"usage":{"total_tokens":12}}`)
		}}, cns.EFAILEDPRECOND, 1, "refused"},
		{"refusal in content", []func(w http.ResponseWriter){completion(`{"refusal": "not comfortable"}`, "stop", 5)}, cns.EFAILEDPRECOND, 1, "refused"},
		{"content filter", []func(w http.ResponseWriter){completion("", "content_filter", 5)}, cns.EFAILEDPRECOND, 1, "refused"},
		{"truncated at max_tokens", []func(w http.ResponseWriter){completion(`{"hypothesis": "a very long`, "length", 512)}, cns.EUNAVAILABLE, 3, "truncated at 512 tokens"},
		{"connection cut mid-body", []func(w http.ResponseWriter){truncatedBody}, cns.EUNAVAILABLE, 3, "cut off"},
		{"server errors", []func(w http.ResponseWriter){status(503, `{"error":{"message":"overloaded","type":"server_error"}}`)}, cns.EUNAVAILABLE, 3, "503: overloaded"},
		{"bad credentials", []func(w http.ResponseWriter){status(401, `{"error":{"message":"Incorrect API key provided: sk-test-DO-NOT-LEAK-4242"}}`)}, cns.EFAILEDPRECOND, 1, "refused the credentials"},
		{"bad request", []func(w http.ResponseWriter){status(400, `{"error":{"message":"model not found"}}`)}, cns.EFAILEDPRECOND, 1, "(400): model not found"},
		{"key echoed", []func(w http.ResponseWriter){status(422, `{"error":{"message":"bad header Bearer sk-test-DO-NOT-LEAK-4242"}}`)}, cns.EFAILEDPRECOND, 1, "Bearer [redacted]"},
		{"not a completion", []func(w http.ResponseWriter){status(200, `<html>proxy error</html>`)}, cns.EUNAVAILABLE, 3, "not a chat completion"},
		{"no choices", []func(w http.ResponseWriter){status(200, `{"choices":[]}`)}, cns.EUNAVAILABLE, 3, "no choices"},
		{"cycle", []func(w http.ResponseWriter){completion(`{"hypothesis":"h","claims":[{"id":"c1","text":"x"},{"id":"c2","text":"y"}],"edges":[{"from":"c1","to":"c2","relation":"supports"},{"from":"c2","to":"c1","relation":"supports"}]}`, "stop", 5)},
			cns.EUNAVAILABLE, 3, "cycle"},
		{"unknown claim", []func(w http.ResponseWriter){completion(`{"hypothesis":"h","edges":[{"from":"c9","to":"root","relation":"supports"}]}`, "stop", 5)}, cns.EUNAVAILABLE, 3, "unknown claim"},
		{"unknown evidence", []func(w http.ResponseWriter){completion(`{"hypothesis":"h","evidence":[{"id":"doi:10.9/invented"}]}`, "stop", 5)}, cns.EUNAVAILABLE, 3, "unknown evidence id"},
		{"bad relation", []func(w http.ResponseWriter){completion(`{"hypothesis":"h","claims":[{"id":"c1","text":"x"}],"edges":[{"from":"c1","to":"root","relation":"causes"}]}`, "stop", 5)}, cns.EUNAVAILABLE, 3, "unknown relation"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cs := newChatServer(t, c.script...)
			l, _, logs := client(t, cs, nil)
			out, err := l.Synthesize(context.Background(), request())
			if err == nil {
				t.Fatalf("synthesized %+v", out)
			}
			noSecret(t, err, logs)
			if cns.ErrorCode(err) != c.code || !strings.Contains(err.Error(), c.contains) || cs.calls() != c.calls {
				t.Fatalf("error %v (code %s) after %d calls; want code %s containing %q after %d calls",
					err, cns.ErrorCode(err), cs.calls(), c.code, c.contains, c.calls)
			}
		})
	}
}

func TestLLMRetryAfterAndBudget(t *testing.T) {
	t.Parallel()
	cs := newChatServer(t, status(429, `{"error":{"message":"rate limited"}}`, "Retry-After", "2"), completion(goodOutput, "stop", 50))
	l, sleeps, _ := client(t, cs, nil)
	if _, err := l.Synthesize(context.Background(), request()); err != nil {
		t.Fatal(err)
	}
	if len(*sleeps) != 1 || (*sleeps)[0] != 2*time.Second {
		t.Fatalf("backoff after a 429 with Retry-After 2 = %v", *sleeps)
	}

	// A spent token budget stops before any request.
	cs2 := newChatServer(t, completion(goodOutput, "stop", 50))
	l2, _, _ := client(t, cs2, func(c *LLMConfig) { c.Meter = &meter{refuse: true} })
	if _, err := l2.Synthesize(context.Background(), request()); cns.ErrorCode(err) != cns.EEXHAUSTED || cs2.calls() != 0 {
		t.Fatalf("spent budget: %v after %d calls", err, cs2.calls())
	}

	// A cancelled context ends the retries.
	cs3 := newChatServer(t, status(500, ""))
	l3, _, _ := client(t, cs3, nil)
	ctx, cancel := context.WithCancel(context.Background())
	l3.sleep = func(context.Context, time.Duration) error { cancel(); return context.Canceled }
	if _, err := l3.Synthesize(ctx, request()); err == nil || cs3.calls() != 1 {
		t.Fatalf("cancelled: %v after %d calls", err, cs3.calls())
	}
}

func TestNewLLMConfig(t *testing.T) {
	t.Parallel()
	_, err := NewLLM(LLMConfig{BaseURL: "ftp://x", APIKey: testKey})
	if cns.ErrorCode(err) != cns.EINVALID {
		t.Fatalf("NewLLM: %v", err)
	}
	for _, f := range []string{"base_url", "model", "timeout", "max_attempts", "max_tokens"} {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("%s not reported: %v", f, err)
		}
	}
	if strings.Contains(err.Error(), testKey) {
		t.Fatal("the key is in a configuration error")
	}
}
