package containersim

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"golang.org/x/term"
)

func registryCommand() *command {
	return &command{Name: "registry", Aliases: []string{"r"}, Abstract: "Manage registry logins", Subs: []*command{
		{Name: "login", Abstract: "Log in to a registry", API: apiPing, Run: cmdRegistryLogin, Args: []positional{{Name: "server"}},
			Options: []option{optScheme, {Long: "password-stdin", Help: "Take the password from stdin"},
				{Long: "username", Short: 'u', Value: "username", Help: "Registry user name"}}},
		{Name: "logout", Abstract: "Log out from a registry", API: apiPing, Run: cmdRegistryLogout, Args: []positional{{Name: "registry"}}},
		{Name: "list", Aliases: []string{"ls"}, Abstract: "List registry logins", API: apiPing, Run: cmdRegistryList,
			Options: []option{optFormat, optQuiet}},
	}}
}

func cmdRegistryLogin(e *env, p *parsed) error {
	server := p.args[0]
	user := p.str("username", "")
	var password string
	if p.flag("password-stdin") {
		if user == "" {
			return failf("must provide --username with --password-stdin")
		}
		b, err := io.ReadAll(e.stdin)
		if err != nil {
			return failf("failed to read password from stdin: %v", err)
		}
		password = strings.TrimRight(string(b), "\r\n")
	} else {
		f, ok := e.stdin.(*os.File)
		if !ok || !term.IsTerminal(int(f.Fd())) {
			return failf("%s", czDescRaw(codeInvalidArg, "failed to read the password: the standard input is not a terminal"))
		}
		if user == "" {
			fmt.Fprint(e.stderr, "Username: ")
			line, _ := bufio.NewReader(f).ReadString('\n')
			user = strings.TrimSpace(line)
		}
		fmt.Fprint(e.stderr, "Provide registry password: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(e.stderr)
		if err != nil {
			return failf("failed to read user input")
		}
		password = string(b)
	}
	if err := e.checkLogin(server, user, password, p.str("scheme", "auto")); err != nil {
		return err
	}
	k, err := e.readKeychain()
	if err != nil {
		return err
	}
	k.Registries[keychainHost(server)] = keychainEntry{Username: user, Password: password}
	if err := e.writeKeychain(k); err != nil {
		return err
	}
	fmt.Fprintln(e.stderr, "Login succeeded")
	return nil
}

// checkLogin verifies credentials against registries the simulator can
// reach (loopback hosts): GET /v2/ with basic auth. Other hosts are stored
// unchecked (the machine has no internet).
func (e *env) checkLogin(server, user, password, scheme string) error {
	host, _, err := net.SplitHostPort(server)
	if err != nil {
		host = server
	}
	ip := net.ParseIP(host)
	if host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return nil
	}
	proto := "http"
	if scheme == "https" {
		proto = "https"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, proto+"://"+server+"/v2/", nil)
	req.SetBasicAuth(user, password)
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return failf("%s", czDescRaw(codeInternal, "failed to ping registry "+server)+` (cause: "`+err.Error()+`")`)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
		return failf("%s", czDescRaw(codeInvalidArg, "invalid credentials for "+server)+` (cause: "unauthorized: authentication required")`)
	}
	return nil
}

func cmdRegistryLogout(e *env, p *parsed) error {
	k, err := e.readKeychain()
	if err != nil {
		return err
	}
	delete(k.Registries, keychainHost(p.args[0]))
	return e.writeKeychain(k)
}

func cmdRegistryList(e *env, p *parsed) error {
	k, err := e.readKeychain()
	if err != nil {
		return err
	}
	if p.str("format", "table") == "json" {
		out := []any{}
		for _, h := range k.hosts() {
			out = append(out, jobj{{"hostname", h}, {"username", k.Registries[h].Username}})
		}
		fmt.Fprintf(e.stdout, "%s\n", renderJSON(out, e.listStyle()))
		return nil
	}
	if p.flag("quiet") {
		for _, h := range k.hosts() {
			fmt.Fprintln(e.stdout, h)
		}
		return nil
	}
	rows := [][]string{{"HOSTNAME", "USERNAME"}}
	for _, h := range k.hosts() {
		rows = append(rows, []string{h, k.Registries[h].Username})
	}
	fmt.Fprint(e.stdout, renderTable(rows))
	return nil
}
