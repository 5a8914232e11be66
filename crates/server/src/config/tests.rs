//! The settings' tests: precedence, defaults, the public URL, secrets kept out of errors.

use super::*;

#[test]
fn flags_win_over_the_file_and_defaults_fill_the_rest() {
    let flags = SettingsLayer {
        listen: Some("127.0.0.1:9000".parse().unwrap()),
        ..SettingsLayer::default()
    };
    let file: SettingsLayer =
        toml::from_str("listen = \"0.0.0.0:1\"\nmax_body_bytes = 10\n").unwrap();
    let settings = flags.resolve(file).unwrap();
    assert_eq!(settings.listen.port(), 9000);
    assert_eq!(settings.max_body_bytes, 10);
    assert_eq!(settings.public_url, "");
    assert!(settings.uses_embedded_database());
    assert!(settings
        .database_url()
        .expose_secret()
        .ends_with("tracklane-data/tracklane.db"));
}

#[test]
fn the_public_url_is_an_absolute_http_url() {
    let with = |url: &str| {
        SettingsLayer {
            public_url: Some(url.to_owned()),
            ..SettingsLayer::default()
        }
        .resolve(SettingsLayer::default())
    };
    assert_eq!(
        with("https://track.example.com/").unwrap().public_url,
        "https://track.example.com"
    );
    assert_eq!(
        with("http://10.0.0.5:8097/t").unwrap().public_url,
        "http://10.0.0.5:8097/t"
    );
    assert_eq!(with("  ").unwrap().public_url, "", "blank is unset");
    for bad in [
        "track.example.com",
        "/tracklane",
        "ftp://track.example.com",
        "https://user:pw@track.example.com",
        "https://track.example.com/?a=1",
        "https://track.example.com/#top",
        "http://",
    ] {
        let error = with(bad).unwrap_err().to_string();
        assert!(error.contains("--public-url"), "{bad}: {error}");
        assert!(
            error.contains("https://track.example.com"),
            "{bad}: {error}"
        );
    }
    assert!(!with("https://user:secret@t.example")
        .unwrap_err()
        .to_string()
        .contains("secret@"));
}

#[test]
fn every_interface_needs_a_public_url() {
    let listening = |listen: &str, public_url: Option<&str>| {
        SettingsLayer {
            listen: Some(listen.parse().unwrap()),
            public_url: public_url.map(str::to_owned),
            ..SettingsLayer::default()
        }
        .resolve(SettingsLayer::default())
        .unwrap()
        .check_reachable()
    };
    for everywhere in ["0.0.0.0:8097", "[::]:8097"] {
        let refused = listening(everywhere, None).unwrap_err().to_string();
        assert!(refused.contains("--public-url"), "{refused}");
        assert!(listening(everywhere, Some("https://t.example")).is_ok());
    }
    assert!(listening("127.0.0.1:8097", None).is_ok());
}

#[test]
fn form_limits_and_trusted_proxies_come_from_the_file() {
    let defaults = SettingsLayer::default()
        .resolve(SettingsLayer::default())
        .unwrap();
    assert_eq!(defaults.form_rate_per_minute, DEFAULT_FORM_RATE_PER_MINUTE);
    assert!(defaults.trusted_proxies.is_empty());
    let file: SettingsLayer = toml::from_str(
        "form_rate_per_minute = 3\ntrusted_proxies = [\"10.0.0.0/8\", \"::1/128\"]\n",
    )
    .unwrap();
    let settings = SettingsLayer::default().resolve(file).unwrap();
    assert_eq!(settings.form_rate_per_minute, 3);
    assert_eq!(settings.trusted_proxies.len(), 2);
    assert!(toml::from_str::<SettingsLayer>("trusted_proxies = [\"nope\"]").is_err());
}

#[test]
fn local_sites_are_allowed_only_when_asked() {
    let defaults = SettingsLayer::default()
        .resolve(SettingsLayer::default())
        .unwrap();
    assert!(!defaults.allow_local_sites);
    let file: SettingsLayer = toml::from_str("allow_local_sites = true\n").unwrap();
    assert!(
        SettingsLayer::default()
            .resolve(file)
            .unwrap()
            .allow_local_sites
    );
}

#[test]
fn connection_limits_have_defaults_and_come_from_the_file() {
    let defaults = SettingsLayer::default()
        .resolve(SettingsLayer::default())
        .unwrap();
    assert_eq!(defaults.header_timeout, Duration::from_secs(10));
    assert_eq!(defaults.body_timeout, Duration::from_secs(30));
    assert_eq!(defaults.request_timeout, Duration::from_secs(60));
    assert_eq!(defaults.max_connections, DEFAULT_MAX_CONNECTIONS);
    let file: SettingsLayer = toml::from_str(
        "header_timeout_secs = 2\nbody_timeout_secs = 3\nrequest_timeout_secs = 4\n\
         max_connections = 5\n",
    )
    .unwrap();
    let settings = SettingsLayer::default().resolve(file).unwrap();
    assert_eq!(settings.header_timeout, Duration::from_secs(2));
    assert_eq!(settings.body_timeout, Duration::from_secs(3));
    assert_eq!(settings.request_timeout, Duration::from_secs(4));
    assert_eq!(settings.max_connections, 5);
}

#[test]
fn file_errors_do_not_show_secrets() {
    for text in [
        "listen = \"127.0.0.1:1\"\ndatabase_url = \"postgres://u:hunter2@h/db\n",
        "database_url = postgres://u:hunter2@h/db\n",
        "smtp_url = 'smtp://mailer:hunter2@mail.example.com\nsmtp_rate = 1\n",
        "database_url = [\"postgres://u:hunter2@h/db\"]\n",
    ] {
        let error = format!("{:#}", SettingsLayer::from_toml(text).err().unwrap());
        assert!(!error.contains("hunter2"), "{error}");
        assert!(error.contains("line "), "{error}");
    }
    let error = format!(
        "{:#}",
        SettingsLayer::from_toml("db_pool_size = \"x\"")
            .err()
            .unwrap()
    );
    assert!(error.contains("key db_pool_size"), "{error}");
}

#[test]
fn the_file_refuses_unknown_settings() {
    assert!(toml::from_str::<SettingsLayer>("lisen = \"x\"").is_err());
}

#[test]
fn the_database_url_is_not_in_debug_output() {
    let settings = SettingsLayer {
        database_url: Some("postgres://u:hunter2@h/db".into()),
        ..SettingsLayer::default()
    }
    .resolve(SettingsLayer::default())
    .unwrap();
    assert!(!format!("{settings:?}").contains("hunter2"));
}

#[test]
fn mail_settings_default_to_the_outbox_and_hide_the_smtp_password() {
    let defaults = SettingsLayer {
        data_dir: Some(PathBuf::from("/srv/tl")),
        ..SettingsLayer::default()
    }
    .resolve(SettingsLayer::default())
    .unwrap();
    assert!(defaults.smtp_url.is_none());
    assert_eq!(defaults.smtp_rate, DEFAULT_SMTP_RATE);
    assert_eq!(defaults.outbox_dir, PathBuf::from("/srv/tl/outbox"));

    let flags = SettingsLayer {
        smtp_rate: Some(0),
        ..SettingsLayer::default()
    };
    let file: SettingsLayer = toml::from_str(
        "smtp_url = \"smtp://mailer:hunter2@mail.example.com:587?tls=required\"\n\
         smtp_rate = 10\noutbox_dir = \"/tmp/out\"\n",
    )
    .unwrap();
    let settings = flags.resolve(file).unwrap();
    assert_eq!(settings.smtp_rate, 0);
    assert_eq!(settings.outbox_dir, PathBuf::from("/tmp/out"));
    assert_eq!(
        settings.smtp_url.as_ref().unwrap().expose_secret(),
        "smtp://mailer:hunter2@mail.example.com:587?tls=required"
    );
    assert!(!format!("{settings:?}").contains("hunter2"));
}
