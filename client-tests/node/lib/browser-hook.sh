#!/bin/sh
# A BROWSER hook for SDKs that open a web browser (Python's webbrowser, the `open` package of
# @azure/identity): hands the URL to headless Chromium (browser-signin.js) and returns at once,
# as the SDK waits for this command before it serves its loopback redirect.
here="$(cd "$(dirname "$0")" && pwd)"
log="${BROWSER_LOG:-/dev/null}"
printf '%s\n' "$1" >>"$log"
nohup node "$here/browser-signin.js" "$1" >>"$log" 2>&1 &
exit 0
