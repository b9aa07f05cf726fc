package config

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// EnvPrefix starts every configuration override in the environment.
//
// The rest of the name is the YAML path with "_" between levels, upper case:
// JETPOOL_POOL_FEE_BPS=150, JETPOOL_VARDIFF_TARGET_SECONDS=15,
// JETPOOL_COINS_BTC_NODE_RPC_URL=http://127.0.0.1:18334. Names are matched
// against the keys that exist (so keys containing "_" work); the value is
// parsed as a YAML scalar.
const EnvPrefix = "JETPOOL_"

func applyEnv(cfg *Config, environ []string) error {
	var overrides [][2]string
	for _, kv := range environ {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, EnvPrefix) {
			continue
		}
		overrides = append(overrides, [2]string{strings.ToLower(strings.TrimPrefix(name, EnvPrefix)), val})
	}
	if len(overrides) == 0 {
		return nil
	}
	raw, err := yaml.Marshal(cfg)
	if err != nil {
		return fmt.Errorf("config: env: %w", err)
	}
	var tree map[string]any
	if err := yaml.Unmarshal(raw, &tree); err != nil {
		return fmt.Errorf("config: env: %w", err)
	}
	applied := false
	for _, o := range overrides {
		var v any
		if err := yaml.Unmarshal([]byte(o[1]), &v); err != nil {
			return fmt.Errorf("config: env %s%s: %w", EnvPrefix, strings.ToUpper(o[0]), err)
		}
		if setPath(tree, o[0], v) {
			applied = true
		}
	}
	if !applied {
		return nil
	}
	raw, err = yaml.Marshal(tree)
	if err != nil {
		return fmt.Errorf("config: env: %w", err)
	}
	out := Default()
	out.Coins = nil
	if err := yaml.Unmarshal(raw, &out); err != nil {
		return fmt.Errorf("config: env overrides: %w", err)
	}
	*cfg = out
	return nil
}

// setPath walks name ("pool_fee_bps") through the nested maps, matching the
// longest existing key at each level, and sets the leaf. Unknown paths are
// ignored (other JETPOOL_* variables are not configuration).
func setPath(m map[string]any, name string, v any) bool {
	for key, child := range m {
		if name == key {
			if _, isMap := child.(map[string]any); isMap {
				return false
			}
			m[key] = v
			return true
		}
		if rest, ok := strings.CutPrefix(name, key+"_"); ok {
			if sub, isMap := child.(map[string]any); isMap && setPath(sub, rest, v) {
				return true
			}
		}
	}
	return false
}
