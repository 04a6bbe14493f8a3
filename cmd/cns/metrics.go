package main

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/cns-dev/cns"
	"github.com/cns-dev/cns/server"
)

// metrics are the process's Prometheus metrics, on its own registry (no globals).
type metrics struct {
	reg      *prometheus.Registry
	accepted *prometheus.CounterVec
	finished *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	critics  prometheus.Histogram
	dead     *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		accepted: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cns_jobs_accepted_total",
			Help: "Jobs accepted by the API."}, []string{"kind"}),
		finished: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cns_jobs_finished_total",
			Help: "Jobs that reached a terminal state (dead-lettered jobs count as failed)."}, []string{"kind", "state"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "cns_job_duration_seconds",
			Help: "Time from acceptance to the end of a job.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 16)}, []string{"kind", "state"}),
		critics: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "cns_critic_evaluation_seconds",
			Help: "Time to score one SNO with all critics.", Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16)}),
		dead: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cns_dead_letters_total",
			Help: "Commands moved to the dead-letter stream."}, []string{"topic"}),
	}
	m.reg.MustRegister(m.accepted, m.finished, m.latency, m.critics, m.dead, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (m *metrics) jobAccepted(j *cns.Job) { m.accepted.WithLabelValues(j.Kind.String()).Inc() }

func (m *metrics) evaluated(d time.Duration) { m.critics.Observe(d.Seconds()) }

func (m *metrics) deadLettered(dl *cns.DeadLetter) { m.dead.WithLabelValues(dl.Topic).Inc() }

func (m *metrics) jobEnded(j *cns.Job) {
	m.finished.WithLabelValues(j.Kind.String(), j.State.String()).Inc()
	m.latency.WithLabelValues(j.Kind.String(), j.State.String()).Observe(j.FinishedAt.Sub(j.CreatedAt).Seconds())
}

// queueCollector reads queue depth when Prometheus scrapes, so the gauges are never stale.
type queueCollector struct {
	queues                           func(ctx context.Context, project string) ([]server.Queue, error)
	length, pending, lag, oldest, up *prometheus.Desc
}

func (m *metrics) registerQueueGauges(queues func(ctx context.Context, project string) ([]server.Queue, error)) {
	l := []string{"queue"}
	m.reg.MustRegister(&queueCollector{
		queues:  queues,
		length:  prometheus.NewDesc("cns_queue_length", "Entries in the command stream.", l, nil),
		pending: prometheus.NewDesc("cns_queue_pending", "Commands delivered and not yet acknowledged.", l, nil),
		lag:     prometheus.NewDesc("cns_queue_lag", "Commands not yet delivered to a worker.", l, nil),
		oldest:  prometheus.NewDesc("cns_queue_oldest_pending_seconds", "Idle time of the oldest pending command.", l, nil),
		up:      prometheus.NewDesc("cns_queue_up", "1 if the queue could be inspected.", nil, nil),
	})
}

func (q *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{q.length, q.pending, q.lag, q.oldest, q.up} {
		ch <- d
	}
}

func (q *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	qs, err := q.queues(ctx, "")
	if err != nil {
		ch <- prometheus.MustNewConstMetric(q.up, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(q.up, prometheus.GaugeValue, 1)
	for _, x := range qs {
		ch <- prometheus.MustNewConstMetric(q.length, prometheus.GaugeValue, float64(x.Length), x.Name)
		ch <- prometheus.MustNewConstMetric(q.pending, prometheus.GaugeValue, float64(x.Pending), x.Name)
		ch <- prometheus.MustNewConstMetric(q.lag, prometheus.GaugeValue, float64(x.Lag), x.Name)
		ch <- prometheus.MustNewConstMetric(q.oldest, prometheus.GaugeValue, x.OldestPending.Seconds(), x.Name)
	}
}
