package e2e

import (
	"testing"

	"github.com/jetpool/jetpool/internal/testenv"
)

// TestMain lets tests share one PostgreSQL and one ClickHouse server
// (testenv.PostgresDB, testenv.ClickHouseDB) and stops them at the end.
func TestMain(m *testing.M) { testenv.Main(m) }
