package node

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// stockSyncthing is Debian's plain syncthing (1.19) run as an untrusted
// backup peer: a NAS that keeps encrypted copies.
type stockSyncthing struct {
	id     string
	addr   string // tcp://127.0.0.1:port
	gui    string
	apiKey string
	data   string // where it keeps folders (its "~")
	cmd    *exec.Cmd
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func startStockSyncthing(t *testing.T) *stockSyncthing {
	bin, err := exec.LookPath("syncthing")
	if err != nil {
		t.Skip("Debian's syncthing package is not installed (apt-get install syncthing; make deps-test)")
	}
	root := t.TempDir()
	home, data := filepath.Join(root, "home"), filepath.Join(root, "user")
	os.MkdirAll(data, 0o700)
	env := append(os.Environ(), "HOME="+data, "STNOUPGRADE=1", "STNODEFAULTFOLDER=1", "STNORESTART=1")
	gen := exec.Command(bin, "generate", "--home="+home, "--no-default-folder")
	gen.Env = env
	out, err := gen.CombinedOutput()
	if err != nil {
		t.Fatalf("syncthing generate: %v\n%s", err, out)
	}
	s := &stockSyncthing{data: data}
	for _, line := range strings.Split(string(out), "\n") {
		if id, ok := strings.CutPrefix(strings.TrimSpace(line), "Device ID: "); ok {
			s.id = id
		}
	}
	if s.id == "" {
		t.Fatalf("no device id in:\n%s", out)
	}
	port := freePort(t)
	s.addr = fmt.Sprintf("tcp://127.0.0.1:%d", port)
	s.gui = fmt.Sprintf("127.0.0.1:%d", freePort(t))
	key := make([]byte, 16)
	rand.Read(key)
	s.apiKey = fmt.Sprintf("%x", key)
	// Closed LAN for the stock one too: nothing leaves 127.0.0.1.
	cfgPath := filepath.Join(home, "config.xml")
	cfg, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	text := string(cfg)
	for _, r := range [][2]string{
		{"<listenAddress>default</listenAddress>", "<listenAddress>" + s.addr + "</listenAddress>"},
		{"<globalAnnounceEnabled>true</globalAnnounceEnabled>", "<globalAnnounceEnabled>false</globalAnnounceEnabled>"},
		{"<localAnnounceEnabled>true</localAnnounceEnabled>", "<localAnnounceEnabled>false</localAnnounceEnabled>"},
		{"<relaysEnabled>true</relaysEnabled>", "<relaysEnabled>false</relaysEnabled>"},
		{"<natEnabled>true</natEnabled>", "<natEnabled>false</natEnabled>"},
		{"<urAccepted>0</urAccepted>", "<urAccepted>-1</urAccepted>"},
		{"<crashReportingEnabled>true</crashReportingEnabled>", "<crashReportingEnabled>false</crashReportingEnabled>"},
		{"<startBrowser>true</startBrowser>", "<startBrowser>false</startBrowser>"},
		{"<autoUpgradeIntervalH>12</autoUpgradeIntervalH>", "<autoUpgradeIntervalH>0</autoUpgradeIntervalH>"},
		{"<reconnectionIntervalS>60</reconnectionIntervalS>", "<reconnectionIntervalS>5</reconnectionIntervalS>"},
		{`path="~"`, `path="` + data + `"`},
	} {
		if !strings.Contains(text, r[0]) {
			t.Fatalf("stock config has no %s", r[0])
		}
		text = strings.Replace(text, r[0], r[1], 1)
	}
	if err := os.WriteFile(cfgPath, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	s.cmd = exec.Command(bin, "serve", "--home="+home, "--no-browser", "--no-restart", "--no-upgrade",
		"--gui-address="+s.gui, "--gui-apikey="+s.apiKey)
	s.cmd.Env = env
	logf, _ := os.Create(filepath.Join(root, "syncthing.log"))
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.cmd.Process.Kill()
		s.cmd.Wait()
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("stock syncthing log:\n%s", b)
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if err := s.api("GET", "/rest/system/ping", nil, nil); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("stock syncthing did not come up")
		}
		time.Sleep(100 * time.Millisecond)
	}
	return s
}

func (s *stockSyncthing) api(method, path string, body, out any) error {
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, "http://"+s.gui+path, r)
	req.Header.Set("X-API-Key", s.apiKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, b)
	}
	if out != nil {
		return json.NewDecoder(resp.Body).Decode(out)
	}
	return nil
}

// accept makes the stock peer know a Ward device and take whatever folders
// it offers (as receive-encrypted, since they come with a password).
func (s *stockSyncthing) accept(t *testing.T, deviceID, addr string) {
	t.Helper()
	err := s.api("POST", "/rest/config/devices", map[string]any{
		"deviceID": deviceID, "name": "ward", "addresses": []string{addr}, "autoAcceptFolders": true,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
}

// folderFiles lists the files the stock peer holds (outside its config).
func (s *stockSyncthing) folderFiles(t *testing.T) map[string][]byte {
	files := map[string][]byte{}
	filepath.WalkDir(s.data, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		b, _ := os.ReadFile(p)
		rel, _ := filepath.Rel(s.data, p)
		files[rel] = b
		return nil
	})
	return files
}

// The untrusted backup peer (issue 5 item 4): a stock Syncthing receives
// the folders encrypted, holds no plaintext, and a fresh workstation that
// knows the clinic key restores the segments from it alone.
func TestBackupPeerStockSyncthing(t *testing.T) {
	nas := startStockSyncthing(t)
	backupKey := make([]byte, 32)
	rand.Read(backupKey)
	withNAS := func(c *Config) {
		c.BackupKey = backupKey
		c.BackupPeers = []BackupPeer{{DeviceID: nas.id, Addresses: []string{nas.addr}}}
	}
	a := startTestNode(t, t.TempDir(), withNAS)
	nas.accept(t, a.DeviceID(), a.Addresses()[0])

	bodies := map[string][]byte{}
	for i := 1; i <= 5; i++ {
		body := append([]byte("ward-seg/v1\n"), bytes.Repeat([]byte(fmt.Sprintf("patient record %d; ", i)), 200)...)
		name, _ := a.writeSegment(t, i, body)
		bodies[name] = body
	}
	// Wait until the NAS holds all of them (encrypted: names and contents).
	deadline := time.Now().Add(60 * time.Second)
	for {
		var st struct {
			NeedFiles   int `json:"needFiles"`
			GlobalFiles int `json:"globalFiles"`
			LocalFiles  int `json:"localFiles"`
		}
		err := nas.api("GET", "/rest/db/status?folder="+FolderID(a.id), nil, &st)
		if err == nil && st.LocalFiles >= 5 && st.NeedFiles == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the NAS did not receive the folder: %+v %v; node status %+v", st, err, a.Status())
		}
		time.Sleep(200 * time.Millisecond)
	}
	held := nas.folderFiles(t)
	if len(held) < 5 {
		t.Fatalf("the NAS holds %d files", len(held))
	}
	for name, b := range held {
		if bytes.Contains(b, []byte("ward-seg")) || bytes.Contains(b, []byte("patient record")) || strings.Contains(name, ".wseg") {
			t.Fatalf("the NAS holds plaintext in %s", name)
		}
	}
	t.Logf("the NAS holds %d encrypted files, no plaintext", len(held))
	a.Stop() // the workstation is gone

	// A fresh workstation with the clinic's key restores from the NAS alone.
	// (Set up while running: AddBackupPeer, then ReceiveFrom.)
	fresh := startTestNode(t, t.TempDir(), func(c *Config) { c.BackupKey = backupKey })
	if err := fresh.AddBackupPeer(BackupPeer{DeviceID: nas.id, Addresses: []string{nas.addr}}); err != nil {
		t.Fatal(err)
	}
	if err := fresh.ReceiveFrom(a.id, nas.id); err != nil {
		t.Fatal(err)
	}
	nas.accept(t, fresh.DeviceID(), fresh.Addresses()[0])
	for name, body := range bodies {
		fresh.waitArrival(t, a.id, name, 60*time.Second)
		got, err := os.ReadFile(filepath.Join(InboxDir(fresh.dir, a.id), name))
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("restored %s: %v", name, err)
		}
	}
	// With a wrong key, nothing opens.
	wrong := make([]byte, 32)
	rand.Read(wrong)
	// (Set up from its Config: BackupPeers and Restore.)
	stranger := startTestNode(t, t.TempDir(), func(c *Config) {
		c.BackupKey = wrong
		c.BackupPeers = []BackupPeer{{DeviceID: nas.id, Addresses: []string{nas.addr}}}
		c.Restore = []string{a.id}
	})
	nas.accept(t, stranger.DeviceID(), stranger.Addresses()[0])
	time.Sleep(3 * time.Second)
	ents, _ := os.ReadDir(InboxDir(stranger.dir, a.id))
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".wseg") {
			t.Fatalf("a node with the wrong key got %s", e.Name())
		}
	}
}
