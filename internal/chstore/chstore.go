package chstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// ErrBadDSN is returned by Open for a DSN it cannot use.
var ErrBadDSN = errors.New("chstore: bad ClickHouse DSN")

// Store is the pool's ClickHouse database: schema, writer, readers, rollups
// and retention. It is safe for concurrent use.
type Store struct {
	conn driver.Conn
	db   string
	log  *slog.Logger

	// server is 0 until the server version is known, then 1 for 18.16
	// and other old releases, 2 for servers that know newer settings.
	server atomic.Int32
	grace  time.Duration // see SetGrace
}

// Open connects to the database named in dsn
// ("clickhouse://host:port/database") over the native protocol. It does not
// wait for the server: a down server shows up as errors from the calls, so a
// function can start and back off while ClickHouse is away.
func Open(dsn string, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if !strings.HasPrefix(dsn, "clickhouse://") && !strings.HasPrefix(dsn, "tcp://") {
		return nil, fmt.Errorf("%w: %q (want clickhouse://host:port/database)", ErrBadDSN, redact(dsn))
	}
	opts, err := clickhouse.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadDSN, err)
	}
	if opts.Auth.Database == "" {
		opts.Auth.Database = "default"
	}
	opts.Protocol = clickhouse.Native
	if opts.DialTimeout == 0 || opts.DialTimeout > 5*time.Second {
		opts.DialTimeout = 5 * time.Second
	}
	if opts.MaxOpenConns == 0 {
		opts.MaxOpenConns = 16
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadDSN, err)
	}
	return &Store{conn: conn, db: opts.Auth.Database, log: log}, nil
}

// Close closes the connections.
func (s *Store) Close() error { return s.conn.Close() }

// Database is the database the store works in.
func (s *Store) Database() string { return s.db }

// Ping checks that the server answers.
func (s *Store) Ping(ctx context.Context) error { return s.conn.Ping(ctx) }

// Conn is the underlying connection, for tests and tools that inspect the
// tables directly.
func (s *Store) Conn() driver.Conn { return s.conn }

// readCtx adds the settings that make FINAL cheaper on servers that know
// them. Duplicates of a share always sit in the share's own day partition,
// so FINAL never needs to merge across partitions; 18.16 does not know the
// setting and would refuse the query, so it is only sent to newer servers.
func (s *Store) readCtx(ctx context.Context) context.Context {
	if s.server.Load() == 0 {
		v, err := s.conn.ServerVersion()
		if err != nil {
			return ctx // the query will report the real problem
		}
		if v.Version.Major > 20 || (v.Version.Major == 20 && v.Version.Minor >= 10) { // the setting came with 20.10
			s.server.Store(2)
		} else {
			s.server.Store(1)
		}
	}
	if s.server.Load() != 2 {
		return ctx
	}
	return clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{
		"do_not_merge_across_partitions_select_final": 1,
	}))
}

// redact hides a password in a DSN for error messages.
func redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.User == nil {
		return dsn
	}
	return u.Redacted()
}
