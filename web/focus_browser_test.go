package web_test

import (
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/warden-mcp/warden/models"
)

// tabFocusJS names the focused element: "body" or "null" when no control has focus, else its
// tag with its id, its data-testid, and for a link its text.
const tabFocusJS = `(() => {
	const e = document.activeElement;
	if (!e) return 'null';
	if (e === document.body) return 'body';
	let s = e.tagName.toLowerCase();
	if (e.id) s += '#' + e.id;
	if (e.dataset.testid) s += '[' + e.dataset.testid + ']';
	if (e.tagName === 'A') s += ' ' + e.textContent.trim();
	return s;
})()`

// A person walks the whole settings page with Tab alone: focus is on a control at every step
// until it leaves the page after the last one, and it meets every combobox, the Block
// checkbox, Save, Preview and Cancel, in that order. The denied-tools combobox used to drop
// focus on <body> on its way to the Block checkbox: its open listbox, a scroller, was itself
// in the tab order, and the input's blur hid it as Tab moved focus onto it.
func TestSettingsTabOrderInBrowser(t *testing.T) {
	ctx := browser(t)
	st, srv, _ := demoConsole(t)
	defer srv.Close()
	signIn(t, ctx, srv, st, "alice", models.RoleAdmin)

	step(t, ctx, "open the settings page",
		chromedp.Navigate(srv.URL+"/orgs/acme/settings"),
		chromedp.WaitVisible(`#deny-tools-input`),
		chromedp.KeyEvent(kb.Tab),
	)
	first := stepValue(t, ctx, "read the first control", chromedp.Evaluate[string](tabFocusJS))
	if first == "body" || first == "null" {
		t.Fatalf("the first Tab focused no control (%s)", first)
	}
	// A page of this size has far fewer controls; the bound only ends a loop that never leaves.
	const maxTabs = 400
	walk := []string{first}
	for len(walk) < maxTabs {
		step(t, ctx, "press Tab", chromedp.KeyEvent(kb.Tab))
		at := stepValue(t, ctx, "read the focus", chromedp.Evaluate[string](tabFocusJS))
		if at == "body" || at == "null" {
			break
		}
		walk = append(walk, at)
	}
	if len(walk) == maxTabs {
		t.Fatalf("focus never left the page after %d Tabs:\n%s", maxTabs, strings.Join(walk, "\n"))
	}
	// Focus left the controls: that must be the wrap, after the page's last control, so the
	// next Tab comes back to the first one.
	step(t, ctx, "press Tab past the end", chromedp.KeyEvent(kb.Tab))
	if again := stepValue(t, ctx, "read the focus after the end", chromedp.Evaluate[string](tabFocusJS)); again != first {
		t.Fatalf("focus fell on <body> after %s, and the next Tab went to %s, not back to the first control %s: focus was lost mid-page\nwalk:\n%s",
			walk[len(walk)-1], again, first, strings.Join(walk, "\n"))
	}

	want := []string{
		"input#servers-input[servers-input]",
		"input#access-groups-input[access-groups-input]",
		"input#toolsets-input[toolsets-input]",
		"input#deny-tools-input[deny-tools-input]",
		"input[blocked]",
		"button[save]",
		"button[preview-button]",
		"a Cancel",
	}
	next := 0
	for _, at := range walk {
		if next < len(want) && at == want[next] {
			next++
		}
	}
	if next < len(want) {
		t.Fatalf("Tab did not reach %s (after %s) in order; walk:\n%s", want[next], strings.Join(want[:next], ", "), strings.Join(walk, "\n"))
	}
}
