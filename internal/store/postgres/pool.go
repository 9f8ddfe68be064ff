package postgres

import (
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// Collector returns a collector of the statistics of the store's connection
// pool, which it reads at each scrape:
//
//	plannr_db_pool_max_connections                     gauge    the most connections the pool opens
//	plannr_db_pool_connections{state}                  gauge    connections now, by state: acquired, idle, constructing
//	plannr_db_pool_acquires_total                      counter  successful acquires of a connection
//	plannr_db_pool_acquire_seconds_total               counter  time those acquires took
//	plannr_db_pool_empty_acquires_total                counter  those that waited because no connection was idle
//	plannr_db_pool_empty_acquire_wait_seconds_total    counter  time those waited
//	plannr_db_pool_canceled_acquires_total             counter  acquires given up by their context
//	plannr_db_pool_new_connections_total               counter  connections the pool set out to open
//	plannr_db_pool_destroyed_connections_total{reason} counter  connections closed for their age: max_lifetime, max_idle
//
// Empty acquires that rise while acquired stays at the maximum tell of a pool
// too small for the load, or of a slow database.
func (p *Store) Collector() prometheus.Collector {
	return poolCollector{p.PoolStat}
}

type poolCollector struct{ stat func() *pgxpool.Stat }

// poolMetric is one metric of the pool, read from a Stat: one value, or one
// per value of its label.
type poolMetric struct {
	desc        *prometheus.Desc
	kind        prometheus.ValueType
	labelValues []string // in the order of values' results; nil without a label
	values      func(*pgxpool.Stat) []float64
}

func newPoolMetric(name, help string, kind prometheus.ValueType, values func(*pgxpool.Stat) []float64, label string, labelValues ...string) poolMetric {
	var labels []string
	if label != "" {
		labels = []string{label}
	}
	return poolMetric{prometheus.NewDesc("plannr_db_pool_"+name, help, labels, nil), kind, labelValues, values}
}

// count is a counter's value from a pgxpool.Stat method.
func count[N int64 | int32](f func(*pgxpool.Stat) N) func(*pgxpool.Stat) []float64 {
	return func(s *pgxpool.Stat) []float64 { return []float64{float64(f(s))} }
}

var poolMetrics = []poolMetric{
	newPoolMetric("max_connections", "The most connections the PostgreSQL pool opens.", prometheus.GaugeValue,
		count((*pgxpool.Stat).MaxConns), ""),
	newPoolMetric("connections", "Connections of the PostgreSQL pool now, by state.", prometheus.GaugeValue,
		func(s *pgxpool.Stat) []float64 {
			return []float64{float64(s.AcquiredConns()), float64(s.IdleConns()), float64(s.ConstructingConns())}
		}, "state", "acquired", "idle", "constructing"),
	newPoolMetric("acquires_total", "Successful acquires of a connection from the PostgreSQL pool.", prometheus.CounterValue,
		count((*pgxpool.Stat).AcquireCount), ""),
	newPoolMetric("acquire_seconds_total", "Time the successful acquires from the PostgreSQL pool took.", prometheus.CounterValue,
		func(s *pgxpool.Stat) []float64 { return []float64{s.AcquireDuration().Seconds()} }, ""),
	newPoolMetric("empty_acquires_total", "Successful acquires that waited because no connection of the PostgreSQL pool was idle.", prometheus.CounterValue,
		count((*pgxpool.Stat).EmptyAcquireCount), ""),
	newPoolMetric("empty_acquire_wait_seconds_total", "Time the acquires that found the PostgreSQL pool empty waited.", prometheus.CounterValue,
		func(s *pgxpool.Stat) []float64 { return []float64{s.EmptyAcquireWaitTime().Seconds()} }, ""),
	newPoolMetric("canceled_acquires_total", "Acquires from the PostgreSQL pool given up by their context.", prometheus.CounterValue,
		count((*pgxpool.Stat).CanceledAcquireCount), ""),
	newPoolMetric("new_connections_total", "Connections the PostgreSQL pool set out to open, counted as each starts.", prometheus.CounterValue,
		count((*pgxpool.Stat).NewConnsCount), ""),
	newPoolMetric("destroyed_connections_total", "Connections the PostgreSQL pool closed for their age, by reason.", prometheus.CounterValue,
		func(s *pgxpool.Stat) []float64 {
			return []float64{float64(s.MaxLifetimeDestroyCount()), float64(s.MaxIdleDestroyCount())}
		}, "reason", "max_lifetime", "max_idle"),
}

// Describe implements prometheus.Collector.
func (poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range poolMetrics {
		ch <- m.desc
	}
}

// Collect implements prometheus.Collector, reading the statistics once, so
// that the values of one scrape agree.
func (c poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.stat()
	for _, m := range poolMetrics {
		for i, v := range m.values(s) {
			var lv []string
			if m.labelValues != nil {
				lv = m.labelValues[i : i+1]
			}
			ch <- prometheus.MustNewConstMetric(m.desc, m.kind, v, lv...)
		}
	}
}
