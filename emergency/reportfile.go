package emergency

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// The evidence report's two renderings: a self-contained, printable HTML
// page (no external assets; html/template escapes every value) and JSON
// with the same content for machines.

// WriteJSON writes r as indented JSON.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteHTML writes r as one printable HTML page.
func (r Report) WriteHTML(w io.Writer) error {
	return reportPage.Execute(w, r)
}

// ReportPaths are the two files of a report written for path: give FILE.html,
// FILE.json or FILE, and FILE.html and FILE.json are written side by side.
func ReportPaths(path string) (htmlPath, jsonPath string) {
	stem := path
	switch strings.ToLower(filepath.Ext(path)) {
	case ".html", ".json":
		stem = strings.TrimSuffix(path, filepath.Ext(path))
	}
	return stem + ".html", stem + ".json"
}

// SaveReport writes r as HTML and JSON beside each other (see ReportPaths),
// each readable by its owner only (0600) and each whole or not at all.
func SaveReport(r Report, path string) (htmlPath, jsonPath string, err error) {
	htmlPath, jsonPath = ReportPaths(path)
	var h, j bytes.Buffer
	if err := r.WriteHTML(&h); err != nil {
		return "", "", err
	}
	if err := r.WriteJSON(&j); err != nil {
		return "", "", err
	}
	if err := writePrivate(htmlPath, h.Bytes()); err != nil {
		return "", "", err
	}
	if err := writePrivate(jsonPath, j.Bytes()); err != nil {
		os.Remove(htmlPath) // half a report would disagree with the other half
		return "", "", err
	}
	return htmlPath, jsonPath, nil
}

// writePrivate writes data to path through a temp file (created 0600) that
// is synced and renamed into place.
func writePrivate(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("cannot write the report in %s: %w", dir, err)
	}
	defer os.Remove(f.Name())
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		return fmt.Errorf("cannot write the report %s: %w", path, err)
	}
	return nil
}

var reportPage = template.Must(template.New("report").Funcs(template.FuncMap{
	"upper": func(s Status) string { return strings.ToUpper(string(s)) },
	"when":  func(r Report) string { return r.Generated.Format("2006-01-02 15:04 MST") },
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}} — {{.Clinic}}</title>
<style>
body { font: 11pt/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #111; margin: 2em auto; max-width: 60em; padding: 0 1em; }
h1 { font-size: 1.5em; margin-bottom: .2em; }
h2 { font-size: 1.15em; margin: 1.6em 0 .3em; border-bottom: 1px solid #999; padding-bottom: .15em; }
h2 .ref { font-weight: normal; color: #444; }
.kind { font-size: .8em; font-weight: normal; color: #444; text-transform: uppercase; letter-spacing: .05em; }
.meta { color: #333; margin: 0 0 1em; }
.summary span { display: inline-block; margin-right: 1em; }
.does { margin: .3em 0 .6em; }
.check { border: 1px solid #bbb; border-left-width: 6px; padding: .4em .8em; margin: .5em 0; page-break-inside: avoid; }
.check h3 { font-size: 1em; margin: 0 0 .2em; }
.status { font-weight: bold; display: inline-block; min-width: 3.2em; }
.pass { border-left-color: #2e7d32; } .pass .status { color: #2e7d32; }
.warn { border-left-color: #b26a00; } .warn .status { color: #b26a00; }
.fail { border-left-color: #c62828; background: #fff5f5; } .fail .status { color: #c62828; }
.check ul { margin: .2em 0; padding-left: 1.2em; }
.action { margin: .3em 0 0; font-weight: 600; }
table { border-collapse: collapse; margin: .4em 0; font-size: .95em; }
th, td { border: 1px solid #bbb; padding: .15em .5em; text-align: left; vertical-align: top; }
th { background: #eee; }
footer { margin-top: 2em; color: #444; font-size: .9em; }
@media print { body { margin: 0; max-width: none; } .fail { background: none; } h2 { page-break-after: avoid; } }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p class="meta">Clinic: <strong>{{.Clinic}}</strong> · Workstation: {{.Workstation}}<br>
Made {{when .}} by {{.By}}. Every piece of evidence below was read from this workstation when the report was made.</p>
<p class="summary"><span class="status">Summary:</span>
<span>{{.Counts.Pass}} pass</span><span>{{.Counts.Warn}} warn</span><span>{{.Counts.Fail}} fail</span></p>
{{range .Standards}}
<section>
<h2><span class="ref">{{.Ref}}</span> {{.Name}} <span class="kind">{{.Kind}}</span></h2>
<p class="does"><strong>What Ward does:</strong> {{.WardDoes}}</p>
{{range .Checks}}
<div class="check {{.Status}}">
<h3><span class="status">{{upper .Status}}</span> {{.Name}}</h3>
<ul>{{range .Evidence}}<li>{{.}}</li>{{end}}</ul>
{{with .Table}}<table><thead><tr>{{range .Columns}}<th>{{.}}</th>{{end}}</tr></thead>
<tbody>{{range .Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>{{end}}</tbody></table>{{end}}
{{with .Action}}<p class="action">What to do: {{.}}</p>{{end}}
</div>
{{end}}
</section>
{{end}}
<footer>Made by Ward (ward compliance report). The same content is in the JSON file beside this one.
The report names staff by username and role; it holds no patient data and no key material.</footer>
</body>
</html>
`))
