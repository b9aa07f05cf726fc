package chstore

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migration is one versioned schema change: the statements of
// migrations/NNNN_name.sql, applied in order.
type Migration struct {
	Version    int
	Name       string
	Statements []string
}

// Migrations returns the embedded migrations in version order.
func Migrations() ([]Migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("chstore: migrations: %w", err)
	}
	var out []Migration
	seen := map[int]string{}
	for _, e := range entries {
		name := e.Name()
		num, rest, ok := strings.Cut(strings.TrimSuffix(name, ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("chstore: migration file %q is not NNNN_name.sql", name)
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("chstore: migrations %q and %q share version %d", prev, name, v)
		}
		seen[v] = name
		body, err := migrationFiles.ReadFile(path.Join("migrations", name))
		if err != nil {
			return nil, fmt.Errorf("chstore: %w", err)
		}
		stmts := splitStatements(string(body))
		if len(stmts) == 0 {
			return nil, fmt.Errorf("chstore: migration %q has no statements", name)
		}
		out = append(out, Migration{Version: v, Name: rest, Statements: stmts})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// splitStatements drops `--` comment lines and splits on semicolons that
// end a line. Migrations keep string literals free of such semicolons.
func splitStatements(sql string) []string {
	var b strings.Builder
	for _, line := range strings.Split(sql, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "--") {
			continue
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	var out []string
	for _, part := range strings.Split(b.String(), ";\n") {
		if s := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(part), ";")); s != "" {
			out = append(out, s)
		}
	}
	return out
}

const migrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
    version    UInt32,
    name       String,
    applied_at DateTime DEFAULT now()
) ENGINE = ReplacingMergeTree
ORDER BY version`

// Migrate applies every embedded migration the database has not recorded in
// schema_migrations and returns the versions it applied. Every statement is
// idempotent (IF NOT EXISTS), so copies of a function that start together
// and race through the same migration leave one schema; a migration is
// recorded only after all its statements succeeded, so a crash midway
// re-runs it.
func (s *Store) Migrate(ctx context.Context) ([]int, error) {
	migs, err := Migrations()
	if err != nil {
		return nil, err
	}
	if err := s.conn.Exec(ctx, migrationsTable); err != nil {
		return nil, fmt.Errorf("chstore: create schema_migrations: %w", err)
	}
	done, err := s.AppliedMigrations(ctx)
	if err != nil {
		return nil, err
	}
	var applied []int
	for _, m := range migs {
		if done[m.Version] {
			continue
		}
		for i, stmt := range m.Statements {
			if err := s.conn.Exec(ctx, stmt); err != nil {
				return applied, fmt.Errorf("chstore: migration %04d_%s statement %d: %w", m.Version, m.Name, i+1, err)
			}
		}
		if err := s.conn.Exec(ctx, "INSERT INTO schema_migrations (version, name) SELECT toUInt32(?), ?", uint32(m.Version), m.Name); err != nil {
			return applied, fmt.Errorf("chstore: record migration %d: %w", m.Version, err)
		}
		s.log.Info("clickhouse migration applied", "version", m.Version, "name", m.Name)
		applied = append(applied, m.Version)
	}
	return applied, nil
}

// AppliedMigrations lists the versions recorded in schema_migrations.
func (s *Store) AppliedMigrations(ctx context.Context) (map[int]bool, error) {
	rows, err := s.conn.Query(ctx, "SELECT DISTINCT version FROM schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("chstore: read schema_migrations: %w", err)
	}
	defer rows.Close()
	out := map[int]bool{}
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("chstore: read schema_migrations: %w", err)
		}
		out[int(v)] = true
	}
	return out, rows.Err()
}
