package gui

import (
	"errors"
	"strings"
	"unicode"
	"unicode/utf8"

	"ward/app"
)

// sentence turns an error from app into what a receptionist reads: app's
// own errors are already sentences that say what to do; permission
// refusals say so plainly; anything unexpected gets a calm fallback with
// the detail after it.
func sentence(err error) string {
	if err == nil {
		return ""
	}
	var denied *app.DeniedError
	var v *app.ValidationError
	switch {
	case errors.As(err, &denied):
		if denied.Reason != "" {
			return capital(denied.Reason) + "."
		}
		return "Your role does not allow this. Ask the clinic's administrator if you need it."
	case errors.As(err, &v):
		return capital(v.Problem) + "."
	}
	return capital(strings.TrimSuffix(err.Error(), ".")) + "."
}

// capital starts s with a capital letter.
func capital(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}
