package streams

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jetpool/jetpool/internal/jsretry"
)

// Stream names.
const (
	Jobs    = "JOBS"
	Shares  = "SHARES"
	Blocks  = "BLOCKS"
	Events  = "EVENTS"
	Payouts = "PAYOUTS"
)

// JobsSubject is where jobmaker publishes compact jobs for one coin.
func JobsSubject(coin string) string { return "jobs." + coin }

// SharesSubject is where a gateway publishes share batches.
func SharesSubject(coin, region string) string { return "shares." + coin + "." + region }

// Block subjects.
func BlockFoundSubject(coin string) string     { return "blocks." + coin + ".found" }
func BlockSubmittedSubject(coin string) string { return "blocks." + coin + ".submitted" }
func BlockConfirmedSubject(coin string) string { return "blocks." + coin + ".confirmed" }
func BlockOrphanedSubject(coin string) string  { return "blocks." + coin + ".orphaned" }

// EventSubject builds events.<kind>.<coin>.<name>, e.g. events.worker.btc.connected.
func EventSubject(kind, coin, name string) string { return "events." + kind + "." + coin + "." + name }

// PayoutSubject builds payouts.<coin>.<step>.
func PayoutSubject(coin, step string) string { return "payouts." + coin + "." + step }

// Options tune streams for one deployment.
type Options struct {
	Replicas     int           // 1 in dev, 3 on a cluster
	SharesMaxAge time.Duration // default 7 days
	SharesBytes  int64         // default 10 GiB
	DupeWindow   time.Duration // message-id de-duplication window, default 2 min
}

func (o Options) withDefaults() Options {
	if o.Replicas == 0 {
		o.Replicas = 1
	}
	if o.SharesMaxAge == 0 {
		o.SharesMaxAge = 7 * 24 * time.Hour
	}
	if o.SharesBytes == 0 {
		o.SharesBytes = 10 << 30
	}
	if o.DupeWindow == 0 {
		o.DupeWindow = 2 * time.Minute
	}
	return o
}

// Configs returns every stream declaration.
func Configs(o Options) []jetstream.StreamConfig {
	o = o.withDefaults()
	return []jetstream.StreamConfig{
		{Name: Jobs, Description: "compact stratum jobs per coin; gateways read the last one",
			Subjects: []string{"jobs.>"}, MaxMsgsPerSubject: 8, MaxAge: time.Hour, Discard: jetstream.DiscardOld,
			Storage: jetstream.FileStorage, Replicas: o.Replicas, Duplicates: o.DupeWindow},
		{Name: Shares, Description: "accepted and rejected share batches from gateways",
			Subjects: []string{"shares.>"}, MaxAge: o.SharesMaxAge, MaxBytes: o.SharesBytes, Discard: jetstream.DiscardOld,
			Storage: jetstream.FileStorage, Replicas: o.Replicas, Duplicates: o.DupeWindow},
		{Name: Blocks, Description: "found, submitted, confirmed and orphaned blocks",
			Subjects: []string{"blocks.>"}, MaxAge: 365 * 24 * time.Hour,
			Storage: jetstream.FileStorage, Replicas: o.Replicas, Duplicates: o.DupeWindow},
		{Name: Events, Description: "worker, payout and alert events for notifications and accounts",
			Subjects: []string{"events.>"}, MaxAge: 30 * 24 * time.Hour,
			Storage: jetstream.FileStorage, Replicas: o.Replicas, Duplicates: o.DupeWindow},
		{Name: Payouts, Description: "payout work and outcomes", Retention: jetstream.WorkQueuePolicy,
			Subjects: []string{"payouts.>"}, MaxAge: 30 * 24 * time.Hour,
			Storage: jetstream.FileStorage, Replicas: o.Replicas, Duplicates: o.DupeWindow},
	}
}

// Consumer declares one durable consumer shared by every copy of a function.
type Consumer struct {
	Stream string
	Config jetstream.ConsumerConfig
}

// Durable consumer names.
const (
	ConsumerIngest      = "ingest"
	ConsumerPPS         = "pps"
	ConsumerBlockSubmit = "blocksubmit"
	ConsumerLedger      = "ledger"
	ConsumerRewards     = "rewards"
	ConsumerNotify      = "notify"
	ConsumerAccounts    = "accounts"
)

// Consumers returns every durable consumer declaration.
func Consumers(o Options) []Consumer {
	o = o.withDefaults()
	mk := func(stream, name string, filters []string, ackWait time.Duration, desc string) Consumer {
		return Consumer{Stream: stream, Config: jetstream.ConsumerConfig{
			Durable: name, Description: desc, AckPolicy: jetstream.AckExplicitPolicy,
			DeliverPolicy: jetstream.DeliverAllPolicy, FilterSubjects: filters,
			AckWait: ackWait, MaxDeliver: -1, MaxAckPending: 20000, Replicas: o.Replicas,
		}}
	}
	return []Consumer{
		mk(Shares, ConsumerIngest, []string{"shares.>"}, 60*time.Second, "shares into ClickHouse"),
		mk(Shares, ConsumerPPS, []string{"shares.>"}, 60*time.Second, "PPS/FPPS crediting"),
		mk(Blocks, ConsumerBlockSubmit, []string{"blocks.*.found"}, 30*time.Second, "submit found blocks to the node"),
		mk(Blocks, ConsumerLedger, []string{"blocks.*.found"}, 30*time.Second, "block rows in the ledger"),
		mk(Blocks, ConsumerRewards, []string{"blocks.*.found", "blocks.*.confirmed", "blocks.*.orphaned"}, 60*time.Second, "rewards and balances"),
		mk(Events, ConsumerNotify, []string{"events.>"}, 30*time.Second, "websocket and Telegram notifications"),
		mk(Events, ConsumerAccounts, []string{"events.worker.>"}, 30*time.Second, "miners, workers, last seen"),
	}
}

// ConsumerByName finds a declared consumer.
func ConsumerByName(o Options, name string) (Consumer, bool) {
	for _, c := range Consumers(o) {
		if c.Config.Durable == name {
			return c, true
		}
	}
	return Consumer{}, false
}

// Ensure creates or updates every stream and consumer; calling it again
// changes nothing. On a fresh cluster it waits out meta-leader election.
func Ensure(ctx context.Context, js jetstream.JetStream, o Options) error {
	for _, cfg := range Configs(o) {
		if err := jsretry.Do(ctx, func() error { _, err := js.CreateOrUpdateStream(ctx, cfg); return err }); err != nil {
			return fmt.Errorf("streams: ensure %s: %w", cfg.Name, err)
		}
	}
	for _, c := range Consumers(o) {
		if err := jsretry.Do(ctx, func() error { _, err := js.CreateOrUpdateConsumer(ctx, c.Stream, c.Config); return err }); err != nil {
			return fmt.Errorf("streams: ensure consumer %s/%s: %w", c.Stream, c.Config.Durable, err)
		}
	}
	return nil
}
