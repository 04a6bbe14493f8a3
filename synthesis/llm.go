package synthesis

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.uber.org/zap"

	"github.com/cns-dev/cns"
)

// TokenMeter enforces an LLM token budget; population.Budgets implements it.
type TokenMeter interface {
	// AllowTokens returns EEXHAUSTED when the project's budget is spent.
	AllowTokens(ctx context.Context, project string) error
	// SpendTokens records tokens a call used.
	SpendTokens(ctx context.Context, project string, n int) error
}

// LLMConfig configures the chat-completions client.
type LLMConfig struct {
	// BaseURL is the API root that /chat/completions is appended to, e.g. https://api.openai.com/v1,
	// http://127.0.0.1:8080/v1 (llama.cpp server), http://127.0.0.1:11434/v1 (Ollama).
	BaseURL string
	Model   string
	// APIKey is sent as a bearer token when set. It is a secret: it never appears in logs or errors.
	APIKey string
	// Timeout bounds one HTTP request (the response must be complete within it).
	Timeout time.Duration
	// MaxAttempts is how many requests one synthesis may make (transport errors, 429/5xx, malformed or
	// invalid output are retried; refusals and 4xx are not).
	MaxAttempts int
	// Backoff is the first retry delay; it doubles per retry (with jitter) up to MaxBackoff. A
	// Retry-After header is honoured up to MaxBackoff.
	Backoff, MaxBackoff time.Duration
	// MaxTokens is the completion budget of one request (max_tokens).
	MaxTokens   int
	Temperature float64
	// Meter, if set, is asked before every request and told what every response used.
	Meter  TokenMeter
	Client *http.Client // nil: a client without its own timeout (Timeout applies per request)
	Log    *zap.Logger
}

// LLM is a cns.Synthesizer over an OpenAI-compatible chat-completions endpoint. Safe for concurrent use.
type LLM struct {
	cfg      LLMConfig
	endpoint string
	client   *http.Client
	log      *zap.Logger
	sleep    func(ctx context.Context, d time.Duration) error
}

var _ cns.Synthesizer = (*LLM)(nil)

// NewLLM checks cfg and returns the client.
func NewLLM(cfg LLMConfig) (*LLM, error) {
	var v cns.Violations
	u, err := url.Parse(cfg.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.Add("base_url", "must be an http(s) URL")
	}
	if strings.TrimSpace(cfg.Model) == "" {
		v.Add("model", "must not be empty")
	}
	if cfg.Timeout <= 0 {
		v.Add("timeout", "must be positive")
	}
	if cfg.MaxAttempts < 1 {
		v.Add("max_attempts", "must be at least 1")
	}
	if cfg.MaxTokens < 1 {
		v.Add("max_tokens", "must be at least 1")
	}
	if err := v.Err("invalid LLM synthesizer configuration"); err != nil {
		return nil, err
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 500 * time.Millisecond
	}
	if cfg.MaxBackoff < cfg.Backoff {
		cfg.MaxBackoff = max(cfg.Backoff, 30*time.Second)
	}
	c := cfg.Client
	if c == nil {
		c = &http.Client{}
	}
	log := cfg.Log
	if log == nil {
		log = zap.NewNop()
	}
	return &LLM{cfg: cfg, endpoint: strings.TrimRight(cfg.BaseURL, "/") + "/chat/completions", client: c, log: log, sleep: sleepCtx}, nil
}

// Name implements cns.Synthesizer: the model is part of the generator version, so switching models lets
// pairs be synthesized again.
func (l *LLM) Name() string { return "synthesis/openai:" + l.cfg.Model + "@1" }

// The wire format of chat completions (the subset used).
type chatMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

type chatRequest struct {
	Model          string            `json:"model"`
	Messages       []chatMessage     `json:"messages"`
	Temperature    float64           `json:"temperature"`
	MaxTokens      int               `json:"max_tokens"`
	ResponseFormat map[string]string `json:"response_format"`
}

type chatResponse struct {
	Choices []struct {
		Message struct {
			Content *string `json:"content"`
			Refusal *string `json:"refusal"`
		} `json:"message"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
	Usage *struct {
		TotalTokens int `json:"total_tokens"`
	} `json:"usage"`
}

// attemptError is the outcome of one failed attempt: retry says whether another attempt may succeed.
type attemptError struct {
	err        error
	retry      bool
	retryAfter time.Duration
}

// Synthesize implements cns.Synthesizer.
func (l *LLM) Synthesize(ctx context.Context, req cns.SynthesisRequest) (*cns.Synthesis, error) {
	if req.A == nil || req.B == nil {
		return nil, cns.Errorf(cns.EINVALID, "llm synthesis needs two parents")
	}
	project := req.A.Project
	strategy := Strategy(req.Pair.Chirality, req.Pair.Entanglement)
	body, err := json.Marshal(chatRequest{
		Model:          l.cfg.Model,
		Messages:       []chatMessage{{Role: "system", Content: systemPrompt}, {Role: "user", Content: Prompt(req, strategy)}},
		Temperature:    l.cfg.Temperature,
		MaxTokens:      l.cfg.MaxTokens,
		ResponseFormat: map[string]string{"type": "json_object"},
	})
	if err != nil {
		return nil, fmt.Errorf("llm synthesis: encode request: %w", err)
	}
	used := 0
	var last *attemptError
	for attempt := 1; attempt <= l.cfg.MaxAttempts; attempt++ {
		if attempt > 1 {
			d := l.backoff(attempt-1, last.retryAfter)
			if err := l.sleep(ctx, d); err != nil {
				return nil, fmt.Errorf("llm synthesis: wait to retry: %w", err)
			}
		}
		if l.cfg.Meter != nil {
			if err := l.cfg.Meter.AllowTokens(ctx, project); err != nil {
				return nil, err
			}
		}
		start := time.Now()
		out, tokens, aerr := l.attempt(ctx, body, req, strategy)
		used += tokens
		if tokens > 0 && l.cfg.Meter != nil {
			if err := l.cfg.Meter.SpendTokens(ctx, project, tokens); err != nil {
				l.log.Warn("record llm token spend", zap.String("project", project), zap.Error(err))
			}
		}
		if aerr == nil {
			out.TokensUsed = used
			l.log.Info("llm synthesis", zap.String("project", project), zap.String("sno_a", req.A.ID), zap.String("sno_b", req.B.ID),
				zap.Int("attempt", attempt), zap.Int("tokens", used), zap.Duration("took", time.Since(start)))
			return out, nil
		}
		last = aerr
		l.log.Warn("llm synthesis attempt failed", zap.String("project", project), zap.Int("attempt", attempt),
			zap.Bool("retry", aerr.retry), zap.Duration("took", time.Since(start)), zap.Error(aerr.err))
		if !aerr.retry || ctx.Err() != nil {
			break
		}
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("llm synthesis: %w", ctx.Err())
	}
	if last.retry {
		// Every attempt failed on something another try may fix (the endpoint, or the model's output):
		// Unavailable lets the worker retry the job later and, in the end, dead-letter it for a redrive.
		e := cns.Errorf(cns.EUNAVAILABLE, "llm synthesis failed after %d attempts: %s", l.cfg.MaxAttempts, cns.ErrorMessage(last.err))
		e.RetryAfterSeconds = int(l.cfg.MaxBackoff.Seconds())
		return nil, e
	}
	return nil, last.err
}

func (l *LLM) backoff(retry int, hint time.Duration) time.Duration {
	d := l.cfg.Backoff << min(retry-1, 10)
	d += time.Duration(rand.Int64N(int64(d)/4 + 1)) // jitter: concurrent workers do not retry in step
	d = max(d, hint)
	return min(d, l.cfg.MaxBackoff)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// maxResponseBytes bounds what is read of a response: a synthesis is a few KB of JSON.
const maxResponseBytes = 4 << 20

// attempt makes one request and validates its answer. It returns the tokens the response reports (or an
// estimate when it reports none) even when the answer is unusable: the tokens were spent.
func (l *LLM) attempt(ctx context.Context, body []byte, req cns.SynthesisRequest, strategy string) (*cns.Synthesis, int, *attemptError) {
	rctx, cancel := context.WithTimeout(ctx, l.cfg.Timeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(rctx, http.MethodPost, l.endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, 0, &attemptError{err: fmt.Errorf("llm synthesis: build request: %w", err)}
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set("Accept", "application/json")
	if l.cfg.APIKey != "" {
		hreq.Header.Set("Authorization", "Bearer "+l.cfg.APIKey)
	}
	resp, err := l.client.Do(hreq)
	if err != nil {
		// *url.Error carries the URL (no credentials: the key is a header) and the cause.
		return nil, 0, &attemptError{err: cns.Errorf(cns.EUNAVAILABLE, "llm endpoint unreachable: %s", transportReason(rctx, err)), retry: true}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return nil, 0, &attemptError{err: cns.Errorf(cns.EUNAVAILABLE, "llm response cut off: %s", transportReason(rctx, err)), retry: true}
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return nil, 0, &attemptError{err: cns.Errorf(cns.EUNAVAILABLE, "llm endpoint answered %d%s", resp.StatusCode, l.apiError(raw)),
			retry: true, retryAfter: retryAfter(resp.Header.Get("Retry-After"))}
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return nil, 0, &attemptError{err: cns.Errorf(cns.EFAILEDPRECOND, "llm endpoint refused the credentials (%d): check synthesis.llm.api_key", resp.StatusCode)}
	case resp.StatusCode != http.StatusOK:
		return nil, 0, &attemptError{err: cns.Errorf(cns.EFAILEDPRECOND, "llm endpoint rejected the request (%d)%s", resp.StatusCode, l.apiError(raw))}
	}
	var cr chatResponse
	if err := json.Unmarshal(raw, &cr); err != nil {
		return nil, len(raw) / 4, &attemptError{err: cns.Errorf(cns.EFAILEDPRECOND, "llm response is not a chat completion: %v", err), retry: true}
	}
	tokens := len(body)/4 + len(raw)/4 // ~4 bytes a token, when the server reports no usage
	if cr.Usage != nil && cr.Usage.TotalTokens > 0 {
		tokens = cr.Usage.TotalTokens
	}
	if len(cr.Choices) == 0 {
		return nil, tokens, &attemptError{err: cns.Errorf(cns.EFAILEDPRECOND, "llm response has no choices"), retry: true}
	}
	ch := cr.Choices[0]
	if ch.Message.Refusal != nil && strings.TrimSpace(*ch.Message.Refusal) != "" || ch.FinishReason == "content_filter" {
		return nil, tokens, &attemptError{err: cns.Errorf(cns.EFAILEDPRECOND, "the model refused to synthesize this pair")}
	}
	if ch.FinishReason == "length" {
		return nil, tokens, &attemptError{err: cns.Errorf(cns.EFAILEDPRECOND, "llm output truncated at %d tokens (synthesis.llm.max_tokens)", l.cfg.MaxTokens), retry: true}
	}
	if ch.Message.Content == nil || strings.TrimSpace(*ch.Message.Content) == "" {
		return nil, tokens, &attemptError{err: cns.Errorf(cns.EFAILEDPRECOND, "llm response has no content"), retry: true}
	}
	out, refused, err := Parse(*ch.Message.Content, req)
	if refused {
		return nil, tokens, &attemptError{err: err}
	}
	if err != nil {
		return nil, tokens, &attemptError{err: err, retry: true}
	}
	if out.Strategy == "" {
		out.Strategy = strategy
	}
	return out, tokens, nil
}

// transportReason says why a request failed without echoing anything the server sent.
func transportReason(ctx context.Context, err error) string {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		return "timed out"
	case errors.Is(err, context.Canceled):
		return "canceled"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// apiError extracts the short error message of an OpenAI-style error body ({"error":{"message":…}}),
// bounded and with our key removed should the server echo it, for the job's error.
func (l *LLM) apiError(raw []byte) string {
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(raw, &e) != nil || e.Error.Message == "" {
		return ""
	}
	m := e.Error.Message
	if l.cfg.APIKey != "" {
		m = strings.ReplaceAll(m, l.cfg.APIKey, "[redacted]")
	}
	if len(m) > 200 {
		cut := 200
		for cut > 0 && !utf8.RuneStart(m[cut]) {
			cut--
		}
		m = m[:cut] + "…"
	}
	return ": " + strings.Map(func(r rune) rune {
		if r < 0x20 {
			return ' '
		}
		return r
	}, m)
}

// retryAfter reads a Retry-After header given in seconds (HTTP dates are rare from these servers).
func retryAfter(h string) time.Duration {
	n, err := strconv.Atoi(strings.TrimSpace(h))
	if err != nil || n < 0 {
		return 0
	}
	return time.Duration(n) * time.Second
}
