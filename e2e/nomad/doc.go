// Package nomade2e runs the Tart task driver inside a real Nomad agent (the
// version this module depends on, built from the module) with tart-sim as
// tart. See agent_test.go for the agents and e2e_test.go for the scenarios.
package nomade2e
