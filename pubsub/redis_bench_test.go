package pubsub_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ThreeDotsLabs/watermill"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/redis/go-redis/v9"

	"github.com/cns-dev/cns/internal/redistest"
	busv1 "github.com/cns-dev/cns/proto/gen/cns/bus/v1"
	"github.com/cns-dev/cns/pubsub"
)

// BenchmarkRedisCommands measures commands/s through Redis Streams: publish → consume (consumer group) →
// no-op handler → ack, with 1 and 4 subscribers in one process.
func BenchmarkRedisCommands(b *testing.B) {
	srv := redistest.Start(b)
	for _, subs := range []int{1, 4} {
		b.Run(fmt.Sprintf("subscribers=%d", subs), func(b *testing.B) {
			db := subs
			cfg := pubsub.RedisConfig{
				NewClient: func() redis.UniversalClient { return redis.NewClient(&redis.Options{Addr: srv.Addr(), DB: db}) },
				Instance:  "bench", ClaimIdle: time.Minute, MaxLen: 1_000_000,
			}
			log := watermill.NopLogger{}
			pub, err := pubsub.NewRedisPublisher(cfg, log)
			if err != nil {
				b.Fatal(err)
			}
			defer pub.Close()
			ss, err := pubsub.NewRedisCommandSubscribers(cfg, subs, log)
			if err != nil {
				b.Fatal(err)
			}
			r, _ := message.NewRouter(message.RouterConfig{CloseTimeout: time.Second}, log)
			var handled atomic.Int64
			for i, s := range ss {
				r.AddConsumerHandler(fmt.Sprint("h", i), pubsub.TopicJobs, s, func(*message.Message) error {
					handled.Add(1)
					return nil
				})
			}
			go r.Run(context.Background())
			<-r.Running()
			defer r.Close()
			n := max(b.N, 1) * 2000
			b.ResetTimer()
			start := time.Now()
			for i := range n {
				if err := pubsub.Publish(context.Background(), pub, pubsub.TopicJobs, &busv1.ProcessJob{Project: "p", JobId: fmt.Sprint(i)}); err != nil {
					b.Fatal(err)
				}
			}
			for handled.Load() < int64(n) {
				time.Sleep(time.Millisecond)
			}
			b.ReportMetric(float64(n)/time.Since(start).Seconds(), "cmds/s")
		})
	}
}
