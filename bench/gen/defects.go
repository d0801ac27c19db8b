package main

import (
	"fmt"
	"strings"
)

// Defect types that can be planted with -defects.
const (
	dMissingCMKey     = "missing-configmap-key"
	dEnvShadow        = "env-shadows-envfrom"
	dMissingSecretKey = "missing-secret-key"
	dMissingCM        = "missing-configmap"
	dVSUnknownSubset  = "vs-unknown-subset"
	dVSUnknownHost    = "vs-unknown-host"
)

var allDefectTypes = []string{dMissingCMKey, dEnvShadow, dMissingSecretKey, dMissingCM, dVSUnknownSubset, dVSUnknownHost}

type defect struct {
	id     int
	typ    string
	slot   int // picks the target workload
	ns     string
	kind   string
	name   string
	detail string
	also   []string  // other objects carrying the same defect (copies of a pod template)
	w      *workload // target workload, if any
}

func parseDefectTypes(s string) ([]string, error) {
	if s == "" || s == "all" {
		return allDefectTypes, nil
	}
	var out []string
	for _, t := range strings.Split(s, ",") {
		t = strings.TrimSpace(t)
		ok := false
		for _, k := range allDefectTypes {
			if k == t {
				ok = true
			}
		}
		if !ok {
			return nil, fmt.Errorf("unknown defect type %q (known: %s)", t, strings.Join(allDefectTypes, ","))
		}
		out = append(out, t)
	}
	return out, nil
}

// planDefects spreads k defects evenly over n namespaces, at most one per
// namespace, cycling through the types.
func planDefects(gens []*nsGen, k int, types []string) []*defect {
	n := len(gens)
	var out []*defect
	for j := 0; j < k; j++ {
		d := &defect{id: j + 1, typ: types[j%len(types)], slot: j / len(types)}
		g := gens[j*n/k]
		g.defects = append(g.defects, d)
		out = append(out, d)
	}
	return out
}

func findEnv(c *ctr, name string) int {
	for i, e := range c.env {
		if v, _ := e.get("name"); v.s == name {
			return i
		}
	}
	return -1
}

func (g *nsGen) applyDefect(d *defect, ws []*workload, o *istioOpts) {
	d.ns = g.name
	w := ws[d.slot%len(ws)]
	app := w.containers[0]
	switch d.typ {
	case dMissingCMKey:
		app.env[findEnv(app, "FEATURE_FLAGS")] = envCMKey("FEATURE_FLAGS", g.settings, "feature.flag")
		w.broken = fmt.Sprintf("couldn't find key feature.flag in ConfigMap %s/%s", g.name, g.settings)
		w.brokenCtr = app.name
		d.detail = fmt.Sprintf("container %q env FEATURE_FLAGS: configMapKeyRef key \"feature.flag\" not found in ConfigMap %s/%s", app.name, g.name, g.settings)
	case dMissingSecretKey:
		app.env[findEnv(app, "DB_PASSWORD")] = envSecretKey("DB_PASSWORD", g.secret, "db-pasword")
		w.broken = fmt.Sprintf("couldn't find key db-pasword in Secret %s/%s", g.name, g.secret)
		w.brokenCtr = app.name
		d.detail = fmt.Sprintf("container %q env DB_PASSWORD: secretKeyRef key \"db-pasword\" not found in Secret %s/%s", app.name, g.name, g.secret)
	case dMissingCM:
		missing := g.envCM + "-v2"
		app.envFrom = append(app.envFrom, M(F("configMapRef", M(FS("name", missing)))))
		w.broken = fmt.Sprintf("configmap %q not found", missing)
		w.brokenCtr = app.name
		d.detail = fmt.Sprintf("container %q envFrom configMapRef %s/%s: ConfigMap does not exist", app.name, g.name, missing)
	case dEnvShadow:
		app.env = append(app.env, envValue("LOG_LEVEL", "debug"))
		d.detail = fmt.Sprintf("container %q env LOG_LEVEL (value \"debug\") shadows key LOG_LEVEL provided via envFrom configMapRef %s/%s", app.name, g.name, g.envCM)
	case dVSUnknownSubset:
		o.badSubset = true
		d.kind, d.name = "VirtualService", g.appA
		d.detail = fmt.Sprintf("http route \"canary\" routes to subset \"v3\" of host %s, which no DestinationRule defines (DestinationRule %s/%s has v1, v2)", g.fqdn(g.appA), g.name, g.appA)
		return
	case dVSUnknownHost:
		o.badHost = true
		d.kind, d.name = "VirtualService", g.appB
		d.detail = fmt.Sprintf("http route \"primary\" routes to host %s, which matches no Service", g.fqdn(g.appB+"-svc"))
		return
	}
	d.kind, d.name, d.w = "Deployment", w.name, w
}
