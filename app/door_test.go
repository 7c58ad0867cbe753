package app

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// notPHI are the *store.Tx methods that touch no patient data: the audit
// chain itself, this node, settings, and staff accounts. Every other Tx
// method — including any added later — counts as patient data and must only
// be called inside the function passed to Session.Do, the one door.
var notPHI = map[string]bool{
	"Audit": true, "AuditDB": true, "AuditSigner": true, "Node": true, "NodeKeys": true,
	"Setting": true, "SetSetting": true, "PatientCount": true,
	"UserByUsername": true, "UserByID": true, "Users": true, "AddUser": true,
	"SetUserDisabled": true, "SetUserRoles": true, "CountActiveWithRole": true,
	// Sign-in protection of staff accounts (store/auth.go).
	"AuthState": true, "SaveAuthState": true, "SetPasswordHash": true, "SetPINHash": true,
	"Credentials": true, "SetTOTP": true,
	// This workstation's backup and restore-drill log (store/backupruns.go).
	"AddBackupRun": true, "LastBackupRun": true,
	// The clinic's workstations (store/nodes.go): ids, names, public keys.
	"ClinicNodes": true, "AdmitNode": true, "RevokeNode": true,
	// The replica's transport (store/syncnet.go): devices and addresses of the
	// workstations, this workstation's network settings, pairing invites and
	// join requests, backup peers, what its node sees.
	"NodeDevices": true, "SetNodeDevice": true, "SyncSetting": true, "SetSyncSetting": true,
	"AddInvite": true, "InviteKey": true, "InviteAuthKey": true, "SpendInvite": true,
	"AddJoin": true, "JoinRequest": true, "JoinRequests": true, "SetJoinState": true,
	"BackupPeers": true, "AddBackupPeer": true, "RemoveBackupPeer": true, "SaveTransport": true, "Transport": true,
}

// TestOneDoor fails when patient data can be reached without the audited
// door: a PHI method of *store.Tx called outside a Session.Do callback in
// app, or any use of the database outside app and store (non-test code).
func TestOneDoor(t *testing.T) {
	root := ".."
	txMethods := txMethodNames(t, filepath.Join(root, "store"))
	if len(txMethods) < 10 {
		t.Fatalf("found only %d *store.Tx methods: the guard is not seeing the store", len(txMethods))
	}
	var phi []string
	for m := range txMethods {
		if !notPHI[m] {
			phi = append(phi, m)
		}
	}
	sort.Strings(phi)
	t.Logf("guarded PHI methods: %s", strings.Join(phi, ", "))

	fset := token.NewFileSet()
	err := filepath.Walk(root, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if info.IsDir() && (info.Name() == "store" || strings.HasPrefix(info.Name(), ".") || info.Name() == "testdata") && path != root {
			return filepath.SkipDir
		}
		if info.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		inApp := filepath.Dir(path) == filepath.Join(root, "app")
		for _, v := range checkFile(fset, f, inApp, txMethods) {
			t.Error(v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// checkFile walks one file keeping the stack of enclosing nodes, so a call
// can be traced to the function literal it sits in.
func checkFile(fset *token.FileSet, f *ast.File, inApp bool, txMethods map[string]bool) []string {
	var violations []string
	errorf := func(format string, a ...any) { violations = append(violations, fmt.Sprintf(format, a...)) }
	var stack []ast.Node
	ast.Inspect(f, func(n ast.Node) bool {
		if n == nil {
			stack = stack[:len(stack)-1]
			return true
		}
		stack = append(stack, n)
		if !inApp {
			// Outside app a *store.Tx exists only as the parameter of a
			// function; that function must be a Session.Do callback.
			if lit, ok := n.(*ast.FuncLit); ok && takesTx(lit.Type) && !insideDoCallback(append(stack[:len(stack):len(stack)], lit)) {
				errorf("%s: a function taking *store.Tx outside a Session.Do callback", fset.Position(lit.Pos()))
			}
			if fn, ok := n.(*ast.FuncDecl); ok && takesTx(fn.Type) {
				errorf("%s: %s takes a *store.Tx outside app", fset.Position(fn.Pos()), fn.Name.Name)
			}
		}
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok {
			return true
		}
		name := sel.Sel.Name
		pos := fset.Position(call.Pos())
		if !inApp {
			if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name == "store" && (name == "Open" || name == "Create") {
				errorf("%s: store.%s outside app: only app opens the database", pos, name)
			}
			return true
		}
		if !txMethods[name] || notPHI[name] || !isTxValue(sel.X, stack) {
			return true
		}
		if !insideDoCallback(stack) && !inDoor(stack) {
			errorf("%s: %s reaches patient data outside a Session.Do callback", pos, name)
		}
		return true
	})
	return violations
}

// insideDoCallback: is the innermost function literal around the call an
// argument of a call to Do?
func insideDoCallback(stack []ast.Node) bool {
	for i := len(stack) - 1; i > 0; i-- {
		lit, ok := stack[i].(*ast.FuncLit)
		if !ok {
			continue
		}
		call, ok := stack[i-1].(*ast.CallExpr)
		if !ok {
			return false
		}
		sel, ok := call.Fun.(*ast.SelectorExpr)
		if !ok || sel.Sel.Name != "Do" {
			return false
		}
		for _, a := range call.Args {
			if a == lit {
				return true
			}
		}
		return false
	}
	return false
}

// inDoor: is the call inside the door's own functions (Do, and restricted,
// which Do calls inside its transaction), or closeLapsedGrants, the
// workstation's own audited closing of expired emergency grants (it reads
// only grant rows and writes their end with its audit entry in one tx)?
func inDoor(stack []ast.Node) bool {
	for _, n := range stack {
		if fn, ok := n.(*ast.FuncDecl); ok && fn.Recv != nil && (fn.Name.Name == "Do" || fn.Name.Name == "restricted" || fn.Name.Name == "closeLapsedGrants") {
			return true
		}
	}
	return false
}

// takesTx: does the function have a *store.Tx parameter?
func takesTx(ft *ast.FuncType) bool {
	for _, p := range ft.Params.List {
		if star, ok := p.Type.(*ast.StarExpr); ok {
			if sel, ok := star.X.(*ast.SelectorExpr); ok && sel.Sel.Name == "Tx" {
				if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name == "store" {
					return true
				}
			}
		}
	}
	return false
}

// isTxValue: is x a *store.Tx — a parameter of that type of one of the
// functions around the call (in app a transaction only ever arrives so)?
// A Session method of the same name (desk.DaySchedule) is not one.
func isTxValue(x ast.Expr, stack []ast.Node) bool {
	id, ok := x.(*ast.Ident)
	if !ok {
		return true // tx held elsewhere (a field, a call result): check it anyway
	}
	for i := len(stack) - 1; i >= 0; i-- {
		var ft *ast.FuncType
		switch fn := stack[i].(type) {
		case *ast.FuncLit:
			ft = fn.Type
		case *ast.FuncDecl:
			ft = fn.Type
		default:
			continue
		}
		for _, p := range ft.Params.List {
			if !takesTx(&ast.FuncType{Params: &ast.FieldList{List: []*ast.Field{p}}}) {
				continue
			}
			for _, n := range p.Names {
				if n.Name == id.Name {
					return true
				}
			}
		}
	}
	return false
}

// txMethodNames lists the methods declared on *Tx in the store package.
func txMethodNames(t *testing.T, dir string) map[string]bool {
	fset := token.NewFileSet()
	pkgs, err := parser.ParseDir(fset, dir, func(fi os.FileInfo) bool { return !strings.HasSuffix(fi.Name(), "_test.go") }, 0)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, p := range pkgs {
		for _, f := range p.Files {
			for _, d := range f.Decls {
				fn, ok := d.(*ast.FuncDecl)
				if !ok || fn.Recv == nil || !fn.Name.IsExported() {
					continue
				}
				if star, ok := fn.Recv.List[0].Type.(*ast.StarExpr); ok {
					if id, ok := star.X.(*ast.Ident); ok && id.Name == "Tx" {
						names[fn.Name.Name] = true
					}
				}
			}
		}
	}
	return names
}

// The guard itself must be able to fail: planted violations are caught.
func TestOneDoorCatchesViolations(t *testing.T) {
	tx := map[string]bool{"Patient": true, "AddPatient": true, "Setting": true}
	cases := []struct {
		name  string
		inApp bool
		src   string
	}{
		{"app reads a patient outside Do", true, `package app
func (s *Session) Sneak(ctx context.Context) { s.clinic.db.Update(ctx, func(tx *store.Tx) error { _, err := tx.Patient("x"); return err }) }`},
		{"app writes in a helper with a Tx", true, `package app
func add(tx *store.Tx) { tx.AddPatient(store.Patient{}) }`},
		{"ui opens the database", false, `package gui
func f() { store.Open(nil, "", nil) }`},
		{"ui takes a Tx outside Do", false, `package gui
func f(db *store.DB) { db.Update(nil, func(tx *store.Tx) error { return nil }) }`},
	}
	for _, c := range cases {
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, "planted.go", c.src, 0)
		if err != nil {
			t.Fatal(err)
		}
		if v := checkFile(fset, f, c.inApp, tx); len(v) == 0 {
			t.Errorf("%s: not caught", c.name)
		}
	}
	// And what the door allows passes: work inside Do, and a Session
	// method that shares a Tx method's name (it goes through Do itself).
	for _, ok := range []string{`package app
func (s *Session) Fine(ctx context.Context) { s.Do(ctx, ActPatientRead, "x", func(tx *store.Tx, w *Work) error { _, err := tx.Patient("x"); return err }) }`,
		`package app
func (c *Clinic) Demo(ctx context.Context, desk *Session) { desk.Patient(ctx, "x") }`} {
		fset := token.NewFileSet()
		f, _ := parser.ParseFile(fset, "fine.go", ok, 0)
		if v := checkFile(fset, f, true, tx); len(v) != 0 {
			t.Errorf("allowed code flagged: %v", v)
		}
	}
}
