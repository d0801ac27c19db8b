package netns

import (
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

const (
	uidDash  = "2c48913c-b29f-11e7-9350-020968147796"
	uidUnder = "2c48913c_b29f_11e7_9350_020968147796"
	ctrA     = "9bca8d63d5fa610783847915bcff0ecac1273e5b4bed3f6fa1b07350e0135961"
	ctrB     = "a55d9ac3b312d8a2627824b6d6dd8af66fbec439bf4e0ec22d6d9945ad337a38"
)

func TestParseCgroupLine(t *testing.T) {
	for _, tc := range []struct {
		name, line       string
		hier, ctrl, path string
		uid, id          string
		rt               Runtime
	}{
		{
			name: "containerd systemd burstable (v2)",
			line: "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uidUnder + ".slice/cri-containerd-" + ctrA + ".scope",
			hier: "0", path: "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uidUnder + ".slice/cri-containerd-" + ctrA + ".scope",
			uid: uidDash, id: ctrA, rt: RuntimeContainerd,
		},
		{
			name: "CRI-O systemd besteffort",
			line: "0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + uidUnder + ".slice/crio-" + ctrA + ".scope",
			hier: "0", path: "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + uidUnder + ".slice/crio-" + ctrA + ".scope",
			uid: uidDash, id: ctrA, rt: RuntimeCRIO,
		},
		{
			name: "CRI-O conmon in the pod slice",
			line: "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uidUnder + ".slice/crio-conmon-" + ctrB + ".scope",
			hier: "0", path: "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uidUnder + ".slice/crio-conmon-" + ctrB + ".scope",
			uid: uidDash, id: ctrB, rt: RuntimeCRIOConmon,
		},
		{
			name: "guaranteed pod slice",
			line: "0::/kubepods.slice/kubepods-pod" + uidUnder + ".slice/cri-containerd-" + ctrA + ".scope",
			hier: "0", path: "/kubepods.slice/kubepods-pod" + uidUnder + ".slice/cri-containerd-" + ctrA + ".scope",
			uid: uidDash, id: ctrA, rt: RuntimeContainerd,
		},
		{
			name: "cgroupfs v1 burstable",
			line: "12:memory:/kubepods/burstable/pod" + uidDash + "/" + ctrA,
			hier: "12", ctrl: "memory", path: "/kubepods/burstable/pod" + uidDash + "/" + ctrA,
			uid: uidDash, id: ctrA, rt: RuntimeUnnamed,
		},
		{
			name: "cgroupfs guaranteed, two controllers",
			line: "4:cpu,cpuacct:/kubepods/pod" + uidDash + "/" + ctrB,
			hier: "4", ctrl: "cpu,cpuacct", path: "/kubepods/pod" + uidDash + "/" + ctrB,
			uid: uidDash, id: ctrB, rt: RuntimeUnnamed,
		},
		{
			name: "docker scope under a systemd pod slice",
			line: "11:devices:/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + uidUnder + ".slice/docker-" + ctrA + ".scope",
			hier: "11", ctrl: "devices", path: "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" + uidUnder + ".slice/docker-" + ctrA + ".scope",
			uid: uidDash, id: ctrA, rt: RuntimeDocker,
		},
		{
			name: "containerd colon form",
			line: "0::/kubepods-besteffort-pod72f7f152_440c_66ac_9084_e0fc1d8a910c.slice:cri-containerd:" + ctrB,
			hier: "0", path: "/kubepods-besteffort-pod72f7f152_440c_66ac_9084_e0fc1d8a910c.slice:cri-containerd:" + ctrB,
			uid: "72f7f152-440c-66ac-9084-e0fc1d8a910c", id: ctrB, rt: RuntimeContainerd,
		},
		{
			name: "kind node: kubepods nested under a docker container",
			line: "1:name=systemd:/docker/8d461fa5765781bcf5f7eb192f101bc3103d4b932e26236f43feecfa20664f96/kubepods/besteffort/poddaa5c7ee-3484-4533-af39-3591564fd03e/" + ctrA,
			hier: "1", ctrl: "name=systemd", path: "/docker/8d461fa5765781bcf5f7eb192f101bc3103d4b932e26236f43feecfa20664f96/kubepods/besteffort/poddaa5c7ee-3484-4533-af39-3591564fd03e/" + ctrA,
			uid: "daa5c7ee-3484-4533-af39-3591564fd03e", id: ctrA, rt: RuntimeUnnamed,
		},
		{
			name: "CRI-O without a pod segment (kubeedge)",
			line: "0::/../crio-" + ctrA + ".scope",
			hier: "0", path: "/../crio-" + ctrA + ".scope",
			id: ctrA, rt: RuntimeCRIO,
		},
		{
			name: "CRI-O cgroupfs: the pod UID wins over the crio form",
			line: "0::/kubepods/pod" + uidDash + "/crio-" + ctrA,
			hier: "0", path: "/kubepods/pod" + uidDash + "/crio-" + ctrA,
			uid: uidDash, id: ctrA, rt: RuntimeCRIO,
		},
		{
			name: "upper-case hex UID is kept as written",
			line: "0::/kubepods/pod2C48913C-B29F-11E7-9350-020968147796/" + ctrA,
			hier: "0", path: "/kubepods/pod2C48913C-B29F-11E7-9350-020968147796/" + ctrA,
			uid: "2C48913C-B29F-11E7-9350-020968147796", id: ctrA, rt: RuntimeUnnamed,
		},
		{
			// Istio reads the word after the pod slice as a container ID.
			name: "the pod slice itself",
			line: "0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uidUnder + ".slice",
			hier: "0", path: "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uidUnder + ".slice",
			uid: uidDash, id: "slice", rt: RuntimeOther,
		},
		{
			// Istio's CRI-O expression reads the CRI-O daemon itself as
			// container "service" of no pod: harmless, no pod has UID "".
			name: "the CRI-O daemon",
			line: "0::/system.slice/crio.service",
			hier: "0", path: "/system.slice/crio.service",
			id: "service", rt: RuntimeOther,
		},
		// No container.
		{name: "host service", line: "0::/system.slice/containerd.service", hier: "0", path: "/system.slice/containerd.service"},
		{name: "user session", line: "0::/user.slice/user-1000.slice/session-3.scope", hier: "0", path: "/user.slice/user-1000.slice/session-3.scope"},
		{name: "init", line: "0::/init.scope", hier: "0", path: "/init.scope"},
		{name: "root v1", line: "3:pids:/", hier: "3", ctrl: "pids", path: "/"},
		{name: "empty path", line: "0::", hier: "0"},
		{
			name: "both forms match: rejected",
			line: "0::/pod2c48913cb29f11e79350020968147796/crio-abc",
			hier: "0", path: "/pod2c48913cb29f11e79350020968147796/crio-abc",
		},
		{
			name: "doubled punctuation after the pod segment",
			line: "0::/kubepods/pod" + uidDash + "//" + ctrA,
			hier: "0", path: "/kubepods/pod" + uidDash + "//" + ctrA,
		},
		{
			name: "trailing slash",
			line: "0::/kubepods/pod" + uidDash + "/" + ctrA + "/",
			hier: "0", path: "/kubepods/pod" + uidDash + "/" + ctrA + "/",
		},
		{
			name: "UID one digit short",
			line: "0::/kubepods/pod2c48913c-b29f-11e7-9350-02096814779/" + ctrA,
			hier: "0", path: "/kubepods/pod2c48913c-b29f-11e7-9350-02096814779/" + ctrA,
		},
		{
			name: "crio-conmon without a pod segment",
			line: "0::/../crio-conmon-" + ctrA + ".scope",
			hier: "0", path: "/../crio-conmon-" + ctrA + ".scope",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseCgroupLine(tc.line)
			if err != nil {
				t.Fatal(err)
			}
			want := CgroupLine{Hierarchy: tc.hier, Controllers: tc.ctrl, Path: tc.path, PodUID: tc.uid, ContainerID: tc.id, Runtime: tc.rt}
			if got != want {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
			istioAgrees(t, tc.path)
		})
	}
}

func TestParseCgroupLineErrors(t *testing.T) {
	for _, line := range []string{
		"", "no colons", "1:cpu", "0:" + strings.Repeat("/kubepods", 500),
	} {
		if l, err := ParseCgroupLine(line); err == nil {
			t.Errorf("%.40q: no error, got %+v", line, l)
		}
	}
}

// istioREs are the two expressions of Istio's cni/pkg/nodeagent
// (cgroupREs, from SPIRE), quoted here as the reference the hand-written
// matcher must agree with.
var istioREs = []*regexp.Regexp{
	regexp.MustCompile(`[[:punct:]]pod(?P<poduid>[[:xdigit:]]{8}[[:punct:]]?[[:xdigit:]]{4}[[:punct:]]?[[:xdigit:]]{4}[[:punct:]]?[[:xdigit:]]{4}[[:punct:]]?[[:xdigit:]]{12})[[:punct:]]` +
		`(?:[[:^punct:]]+[[:punct:]])*(?P<containerid>[[:^punct:]]+)$`),
	regexp.MustCompile(`(?P<poduid>)(?P<mustnotmatch>pod[[:xdigit:]]{8}[[:punct:]]?[[:xdigit:]]{4}[[:punct:]]?[[:xdigit:]]{4}[[:punct:]]?[[:xdigit:]]{4}[[:punct:]]?[[:xdigit:]]{12}[[:punct:]])?` +
		`(?:[[:^punct:]]*/*)*crio[[:punct:]](?P<containerid>[[:^punct:]]+)$`),
}

// istioPath is Istio's getPodUIDAndContainerIDFromCGroupPath over istioREs.
func istioPath(path string) (uid, id string, ok bool) {
	path = strings.TrimSuffix(path, ".scope")
	var found []string
	var re *regexp.Regexp
	for _, r := range istioREs {
		m := r.FindStringSubmatch(path)
		if m == nil {
			continue
		}
		if i := r.SubexpIndex("mustnotmatch"); i >= 0 && m[i] != "" {
			continue
		}
		if found != nil {
			return "", "", false
		}
		found, re = m, r
	}
	if found == nil {
		return "", "", false
	}
	return canonicalUID(found[re.SubexpIndex("poduid")]), found[re.SubexpIndex("containerid")], true
}

func istioAgrees(t *testing.T, path string) {
	t.Helper()
	wantUID, wantID, wantOK := istioPath(path)
	uid, id, _, ok := containerOfPath(path)
	if uid != wantUID || id != wantID || ok != wantOK {
		t.Fatalf("path %q: got (%q, %q, %v), Istio's expressions give (%q, %q, %v)", path, uid, id, ok, wantUID, wantID, wantOK)
	}
}

func FuzzCgroupLine(f *testing.F) {
	for _, s := range []string{
		"0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + uidUnder + ".slice/cri-containerd-" + ctrA + ".scope",
		"12:memory:/kubepods/burstable/pod" + uidDash + "/" + ctrA,
		"0::/../crio-" + ctrA + ".scope",
		"0::/kubepods/pod" + uidDash + "/crio-" + ctrA,
		"0::/pod2c48913cb29f11e79350020968147796/crio-abc",
		"0::/x/pod2c48913cb29f11e79350020968147796.pod" + uidDash + "/crio-abc",
		"0::/system.slice/crio.service",
		"1:x:a.pod" + uidDash + ":b:c",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		l, err := ParseCgroupLine(line)
		if err != nil {
			if l != (CgroupLine{}) {
				t.Fatalf("error %v with a non-zero line %+v", err, l)
			}
			return
		}
		if l.Hierarchy+":"+l.Controllers+":"+l.Path != line {
			t.Fatalf("fields %q %q %q do not make up %q", l.Hierarchy, l.Controllers, l.Path, line)
		}
		if l.ContainerID == "" && (l.PodUID != "" || l.Runtime != "") {
			t.Fatalf("no container but %+v", l)
		}
		if l.ContainerID != "" && !strings.Contains(l.Path, l.ContainerID) {
			t.Fatalf("container ID %q not in the path %q", l.ContainerID, l.Path)
		}
		istioAgrees(t, l.Path)
	})
}

// TestCgroupPathsAgreeWithIstio builds paths from the pieces the two
// expressions care about (pod segments with and without separators,
// "crio", punctuation runs, ".scope") and requires the hand-written
// matcher to read each exactly as Istio's expressions do.
func TestCgroupPathsAgreeWithIstio(t *testing.T) {
	pieces := []string{
		"/", ".", "-", "_", ":", "//", "-.", "pod", "crio", "conmon", "kubepods", "slice", ".scope", "abc", "é",
		"pod" + uidDash, "pod" + uidUnder, "pod2c48913cb29f11e79350020968147796", "pod2c48913c-b29f11e7-9350020968147796",
		"2c48913c", "020968147796", ctrA[:12], "crio-", "crio-conmon-", "cri-containerd-", "docker-",
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 60_000 {
		var b strings.Builder
		for range 1 + rng.IntN(8) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		istioAgrees(t, b.String())
	}
}
