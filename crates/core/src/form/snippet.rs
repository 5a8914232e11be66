//! The HTML snippet a site embeds: the form posting to `{public_url}/f/{id}`, a honeypot input
//! moved off screen, a hidden visitor input, and a one-line script that fills it from the
//! tracking snippet's `tl_vid` cookie when the form is sent. Every value is escaped.

use std::collections::HashMap;

use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};

use super::{Form, FormField, HONEYPOT_FIELD, VISITOR_FIELD};

impl Form {
    /// The HTML snippet to paste into a page: the form, its honeypot, and the script that hands
    /// the visitor id over. Custom fields are labelled with their title in `titles` (by
    /// perstag). Every value is escaped.
    pub fn embed_html(&self, public_url: &str, titles: &HashMap<String, String>) -> String {
        let mut html = format!(
            "<form method=\"post\" action=\"{}\" class=\"tracklane-form\" \
             data-tracklane-form=\"{}\">\n",
            attr(&self.action(public_url)),
            self.id
        );
        for field in &self.fields {
            let (kind, required) = match field {
                FormField::Email => ("email", " required"),
                FormField::Phone => ("tel", ""),
                _ => ("text", ""),
            };
            html.push_str(&format!(
                "  <label>{}<input type=\"{kind}\" name=\"{}\"{required}></label>\n",
                text(field.label(titles)),
                attr(field.name()),
            ));
        }
        html.push_str(&format!(
            "  <div style=\"position:absolute;left:-10000px\" aria-hidden=\"true\">\
             <input type=\"text\" name=\"{HONEYPOT_FIELD}\" tabindex=\"-1\" autocomplete=\"off\" \
             value=\"\"></div>\n  <input type=\"hidden\" name=\"{VISITOR_FIELD}\" value=\"\">\n  \
             <button type=\"submit\">Submit</button>\n</form>\n"
        ));
        html.push_str(&format!(
            "<script>(function(){{var f=document.querySelector('form[data-tracklane-form=\"{id}\"]');\
             if(f)f.addEventListener('submit',function(){{\
             var m=document.cookie.match(/(?:^|; ){VISITOR_FIELD}=([^;]*)/);\
             if(m)f.elements['{VISITOR_FIELD}'].value=decodeURIComponent(m[1]);}});}})();</script>\n",
            id = self.id
        ));
        html
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::form::tests::form;

    #[test]
    fn the_snippet_posts_to_the_form_with_a_honeypot_and_the_visitor() {
        let mut form = form();
        form.fields.push(FormField::Custom("X\"><script>".into()));
        form.fields.push(FormField::Custom("SHOE_SIZE".into()));
        let titles = HashMap::from([("SHOE_SIZE".to_owned(), "Shoe <size>".to_owned())]);
        let html = form.embed_html("https://t.example.com", &titles);
        assert!(
            html.contains("<label>Shoe &lt;size&gt;<input type=\"text\" name=\"SHOE_SIZE\">"),
            "a custom field is labelled with its title: {html}"
        );
        assert!(html.contains("action=\"https://t.example.com/f/7\""));
        assert!(html.contains("name=\"email\" required"));
        assert!(html.contains("name=\"firstName\""));
        assert!(html.contains("name=\"tl_hp\""));
        assert!(html.contains("left:-10000px"));
        assert!(html.contains("name=\"tl_vid\""));
        assert!(html.contains("document.cookie"));
        assert!(!html.contains("X\"><script>"), "values are escaped");
    }

    proptest::proptest! {
        #[test]
        fn snippet_values_never_open_or_close_a_tag(perstag in ".*", url in ".*") {
            let snippet = |perstag: String, url: &str| {
                let mut form = form();
                form.fields = vec![FormField::Email, FormField::Custom(perstag)];
                form.embed_html(url, &HashMap::new())
            };
            let baseline = snippet("X".into(), "https://t.example.com");
            let html = snippet(perstag, &url);
            for mark in ['<', '>'] {
                proptest::prop_assert_eq!(html.matches(mark).count(), baseline.matches(mark).count());
            }
        }
    }
}
