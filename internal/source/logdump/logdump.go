// Package logdump reads the container logs of a bundle's logs/ folder
// (logs/<namespace>/<pod>/<container>.log) into snapshot logs.
package logdump

import (
	"strings"

	"github.com/meshdoctor/meshdoctor/internal/snapshot"
	"github.com/meshdoctor/meshdoctor/internal/source/files"
)

// Read turns the members of a bundle's logs/ folder into container logs.
// A member not laid out as logs/<namespace>/<pod>/<container>.log is an
// input error: the pod it belongs to would be unknown.
func Read(members []files.Member) ([]*snapshot.ContainerLog, []files.InputError) {
	var logs []*snapshot.ContainerLog
	var errs []files.InputError
	for _, m := range members {
		parts := strings.Split(m.Rel, "/")
		if len(parts) != 4 || parts[0] != "logs" || !strings.HasSuffix(parts[3], ".log") || parts[1] == "" || parts[2] == "" || parts[3] == ".log" {
			errs = append(errs, files.InputError{Pos: snapshot.Position{File: m.Name}, Msg: "not a container log: bundle logs are logs/<namespace>/<pod>/<container>.log"})
			continue
		}
		logs = append(logs, &snapshot.ContainerLog{
			File:      m.Name,
			Namespace: parts[1],
			Pod:       parts[2],
			Container: strings.TrimSuffix(parts[3], ".log"),
			Data:      m.Data,
		})
	}
	return logs, errs
}
