//! The HTML of the sign-in, device-code and form-post pages: plain, accessible (every field has a
//! label, errors are announced with `role="alert"`, everything works with the keyboard and
//! without script except the form post's automatic submit, which has a button fallback), no
//! external assets. Every value is escaped here; pages carry a Content-Security-Policy that allows
//! nothing from elsewhere.

use actix_web::http::StatusCode;
use actix_web::HttpResponse;

const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#f2f2f2;margin:0}\
main{max-width:28rem;margin:3rem auto;background:#fff;padding:2rem;border:1px solid #ccc}\
h1{font-size:1.5rem;margin-top:0}h2{font-size:1.1rem}label{display:block;font-weight:600;margin-top:.8rem}\
input[type=text],input[type=email],input[type=password]{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem}\
button{font-size:1rem;padding:.5rem 1rem;margin:.8rem .5rem 0 0;cursor:pointer}\
button:focus,input:focus{outline:3px solid #0067b8;outline-offset:1px}\
.primary{background:#0067b8;color:#fff;border:1px solid #0067b8}\
.alert{border-left:4px solid #a80000;background:#fde7e9;padding:.5rem}\
ul.accounts{list-style:none;padding:0}ul.accounts button{width:100%;text-align:left;margin:.3rem 0}\
.note{color:#555;font-size:.9rem}";

/// Escapes text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A hidden form field.
pub fn hidden(name: &str, value: &str) -> String {
    format!(
        "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
        escape(name),
        escape(value)
    )
}

/// An error line, announced to screen readers.
pub fn alert(message: &str) -> String {
    format!("<p class=\"alert\" role=\"alert\" id=\"error\">{}</p>", escape(message))
}

/// A whole page: `title` (text) and `body` (HTML built with the helpers above).
pub fn page(status: StatusCode, title: &str, body: &str) -> HttpResponse {
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head>\
         <body><main>{body}<p class=\"note\">azureml-emulator: an offline Entra ID for tests.</p></main></body></html>",
        escape(title)
    );
    // `form-action *`: after the sign-in form posts here, a `response_mode=query` answer redirects
    // to the application's (often http://localhost) redirect URI, and form-action governs that too.
    html_response(
        status,
        html,
        "default-src 'none'; style-src 'unsafe-inline'; form-action *",
    )
}

/// The `response_mode=form_post` page: posts `fields` to `action` on load (a button does it
/// without script), as Entra ID's "Working..." page does.
pub fn form_post(action: &str, fields: &[(&str, &str)]) -> HttpResponse {
    let inputs: String = fields.iter().map(|(n, v)| hidden(n, v)).collect();
    let html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Working...</title></head>\
         <body onload=\"document.forms[0].submit()\"><form method=\"POST\" action=\"{}\">{inputs}\
         <noscript><p>Script is disabled. Click Submit to continue.</p><input type=\"submit\" value=\"Submit\"></noscript>\
         </form></body></html>",
        escape(action)
    );
    html_response(
        StatusCode::OK,
        html,
        "default-src 'none'; script-src 'unsafe-inline'; form-action *",
    )
}

fn html_response(status: StatusCode, html: String, csp: &str) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store, no-cache"))
        .insert_header(("Pragma", "no-cache"))
        .insert_header(("Content-Security-Policy", csp))
        .insert_header(("X-Frame-Options", "DENY"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .body(html)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_escaped() {
        assert_eq!(escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
        assert_eq!(
            hidden("state", "\"><script>"),
            "<input type=\"hidden\" name=\"state\" value=\"&quot;&gt;&lt;script&gt;\">"
        );
    }
}
