// libcni-driver drives a CNI network configuration list through the real libcni
// (github.com/containernetworking/cni/libcni, Debian's golang-github-appc-cni-dev), the
// library podman's CNI backend, containerd's go-cni and Multus call, so podwire's end-to-end
// tests run plugins exactly as a runtime does: config injection (name, cniVersion,
// runtimeConfig from capabilities), prevResult chaining, the result cache that CHECK and DEL
// read, ADD in order and DEL in reverse.
//
// Usage:
//
//	libcni-driver VERB -conflist FILE -cni-path DIR[:DIR] -cache-dir DIR
//	    [-container-id ID -netns PATH -ifname NAME] [-args K=V;K=V] [-capability-args JSON]
//	    [-log FILE]
//
// VERB is validate, add, check, del, del-best-effort (test clean-up: DEL of every plugin in
// reverse order even when one fails) or cached (the cached ADD result). ADD and cached print
// the result JSON on stdout. Every plugin execution is appended to -log as one JSON line
// (verb, type, binary, stdin, stdout, exit code, error). A failure prints
// {"error": ..., "code": N, "msg": ..., "details": ...} on stdout and exits 1 (code and msg
// only when a plugin returned a CNI error).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/invoke"
	"github.com/containernetworking/cni/pkg/types"
	"github.com/containernetworking/cni/pkg/version"
)

// invocation is one plugin execution, as the tests read it.
type invocation struct {
	Verb      string          `json:"verb"`
	Type      string          `json:"type"`
	Binary    string          `json:"binary"`
	Stdin     json.RawMessage `json:"stdin"`
	Stdout    string          `json:"stdout"`
	ExitCode  int             `json:"exitCode"`
	Error     string          `json:"error,omitempty"`
	ElapsedMs float64         `json:"elapsedMs"`
}

// recordingExec is libcni's default plugin executor, recording every execution.
type recordingExec struct {
	invoke.RawExec
	version.PluginDecoder
	mu  sync.Mutex
	log *os.File
}

func envValue(environ []string, key string) string {
	for _, kv := range environ {
		if strings.HasPrefix(kv, key+"=") {
			return kv[len(key)+1:]
		}
	}
	return ""
}

func (e *recordingExec) ExecPlugin(ctx context.Context, pluginPath string, stdinData []byte, environ []string) ([]byte, error) {
	started := time.Now()
	out, err := e.RawExec.ExecPlugin(ctx, pluginPath, stdinData, environ)
	if e.log != nil {
		inv := invocation{
			Verb:      envValue(environ, "CNI_COMMAND"),
			Type:      filepath.Base(pluginPath),
			Binary:    pluginPath,
			Stdin:     json.RawMessage(stdinData),
			Stdout:    string(out),
			ElapsedMs: float64(time.Since(started).Microseconds()) / 1000,
		}
		if !json.Valid(stdinData) {
			inv.Stdin, _ = json.Marshal(string(stdinData))
		}
		if err != nil {
			inv.ExitCode = 1
			inv.Error = err.Error()
			var cniErr *types.Error
			if errors.As(err, &cniErr) {
				b, _ := json.Marshal(cniErr)
				inv.Stdout = string(b)
			}
		}
		line, _ := json.Marshal(inv)
		e.mu.Lock()
		_, _ = e.log.Write(append(line, '\n'))
		e.mu.Unlock()
	}
	return out, err
}

type failure struct {
	Error   string `json:"error"`
	Code    uint   `json:"code,omitempty"`
	Msg     string `json:"msg,omitempty"`
	Details string `json:"details,omitempty"`
}

func fail(err error) {
	f := failure{Error: err.Error()}
	var cniErr *types.Error
	if errors.As(err, &cniErr) {
		f.Code, f.Msg, f.Details = cniErr.Code, cniErr.Msg, cniErr.Details
	}
	b, _ := json.Marshal(f)
	fmt.Println(string(b))
	os.Exit(1)
}

func printJSON(v interface{}) {
	b, err := json.Marshal(v)
	if err != nil {
		fail(err)
	}
	fmt.Println(string(b))
}

// parseArgs splits "K=V;K=V" as libcni's callers hand CNI_ARGS over.
func parseArgs(s string) ([][2]string, error) {
	var out [][2]string
	if s == "" {
		return out, nil
	}
	for _, pair := range strings.Split(s, ";") {
		kv := strings.SplitN(pair, "=", 2)
		if len(kv) != 2 {
			return nil, fmt.Errorf("invalid -args pair %q", pair)
		}
		out = append(out, [2]string{kv[0], kv[1]})
	}
	return out, nil
}

// delBestEffort deletes every plugin of the list in reverse order with the cached result as
// prevResult, going on past failures (test clean-up, not libcni).
func delBestEffort(ctx context.Context, cni *libcni.CNIConfig, list *libcni.NetworkConfigList, rt *libcni.RuntimeConf) error {
	cached, _ := cni.GetNetworkListCachedResult(list, rt)
	var problems []string
	for i := len(list.Plugins) - 1; i >= 0; i-- {
		conf := list.Plugins[i]
		var raw map[string]interface{}
		if err := json.Unmarshal(conf.Bytes, &raw); err != nil {
			problems = append(problems, err.Error())
			continue
		}
		raw["name"] = list.Name
		raw["cniVersion"] = list.CNIVersion
		if cached != nil {
			raw["prevResult"] = cached
		}
		b, _ := json.Marshal(raw)
		one, err := libcni.ConfFromBytes(b)
		if err == nil {
			err = cni.DelNetwork(ctx, one, rt)
		}
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", conf.Network.Type, err))
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

func main() {
	if len(os.Args) < 2 {
		fail(errors.New("usage: libcni-driver validate|add|check|del|del-best-effort|cached [flags]"))
	}
	verb := os.Args[1]
	fs := flag.NewFlagSet("libcni-driver", flag.ContinueOnError)
	conflist := fs.String("conflist", "", "network configuration list file")
	cniPath := fs.String("cni-path", "", "plugin directories, ':'-separated")
	cacheDir := fs.String("cache-dir", "", "libcni's result cache directory")
	containerID := fs.String("container-id", "", "CNI_CONTAINERID")
	netns := fs.String("netns", "", "CNI_NETNS")
	ifname := fs.String("ifname", "", "CNI_IFNAME")
	cniArgs := fs.String("args", "", "CNI_ARGS pairs K=V;K=V")
	capArgs := fs.String("capability-args", "", "capability arguments as a JSON object")
	logPath := fs.String("log", "", "append every plugin execution to this file (JSON lines)")
	timeout := fs.Duration("timeout", 2*time.Minute, "deadline of the whole operation")
	if err := fs.Parse(os.Args[2:]); err != nil {
		fail(err)
	}
	if *conflist == "" || *cniPath == "" || *cacheDir == "" {
		fail(errors.New("-conflist, -cni-path and -cache-dir are required"))
	}
	list, err := libcni.ConfListFromFile(*conflist)
	if err != nil {
		fail(err)
	}
	exec := &recordingExec{RawExec: invoke.RawExec{Stderr: os.Stderr}}
	if *logPath != "" {
		f, err := os.OpenFile(*logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			fail(err)
		}
		defer f.Close()
		exec.log = f
	}
	cni := libcni.NewCNIConfigWithCacheDir(filepath.SplitList(*cniPath), *cacheDir, exec)
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()

	if verb == "validate" {
		if _, err := cni.ValidateNetworkList(ctx, list); err != nil {
			fail(err)
		}
		return
	}
	args, err := parseArgs(*cniArgs)
	if err != nil {
		fail(err)
	}
	rt := &libcni.RuntimeConf{ContainerID: *containerID, NetNS: *netns, IfName: *ifname, Args: args}
	if *capArgs != "" {
		if err := json.Unmarshal([]byte(*capArgs), &rt.CapabilityArgs); err != nil {
			fail(fmt.Errorf("-capability-args: %w", err))
		}
	}
	switch verb {
	case "add":
		result, err := cni.AddNetworkList(ctx, list, rt)
		if err != nil {
			fail(err)
		}
		printJSON(result)
	case "check":
		if err := cni.CheckNetworkList(ctx, list, rt); err != nil {
			fail(err)
		}
	case "del":
		if err := cni.DelNetworkList(ctx, list, rt); err != nil {
			fail(err)
		}
	case "del-best-effort":
		if err := delBestEffort(ctx, cni, list, rt); err != nil {
			fail(err)
		}
	case "cached":
		result, err := cni.GetNetworkListCachedResult(list, rt)
		if err != nil {
			fail(err)
		}
		if result == nil {
			fmt.Println("null")
			return
		}
		printJSON(result)
	default:
		fail(fmt.Errorf("unknown verb %q", verb))
	}
}
