// Kept by hand: only the SQL types both backends share (see diesel.toml).

diesel::table! {
    apps (id) {
        id -> Text,
        name -> Text,
        app_key -> Text,
        master_key -> Text,
        settings -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    verification_codes (id) {
        id -> Text,
        app_id -> Text,
        phone -> Text,
        purpose -> Text,
        code_hash -> Text,
        value_hash -> Text,
        user_id -> Nullable<Text>,
        attempts -> Integer,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        origin_ip -> Nullable<Text>,
        message_handle -> Nullable<BigInt>,
    }
}

diesel::table! {
    send_events (id) {
        id -> Text,
        app_id -> Text,
        phone -> Text,
        ip -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    messages (id) {
        id -> Text,
        app_id -> Text,
        to_phone -> Text,
        channel -> Text,
        purpose -> Text,
        body_sealed -> Nullable<Binary>,
        body_redacted -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        lease_until -> Nullable<Timestamp>,
        expires_at -> Timestamp,
        last_error -> Nullable<Text>,
        provider_id -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        delivered_at -> Nullable<Timestamp>,
        chars -> Integer,
        parts -> Integer,
        template -> Nullable<Text>,
        provider -> Nullable<Text>,
        text_ref -> Nullable<Text>,
        vars_sealed -> Nullable<Binary>,
        error_code -> Nullable<Text>,
        handle -> BigInt,
        send_at -> Nullable<Timestamp>,
        charged -> Integer,
        refunded -> Bool,
        verified_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    instance_settings (name) {
        name -> Text,
        value -> Text,
    }
}

diesel::table! {
    users (id) {
        id -> Text,
        app_id -> Text,
        username -> Text,
        email -> Nullable<Text>,
        email_key -> Nullable<Text>,
        mobile_phone -> Nullable<Text>,
        phone_e164 -> Nullable<Text>,
        mobile_verified -> Bool,
        email_verified -> Bool,
        password_hash -> Nullable<Text>,
        auth_data -> Nullable<Text>,
        fields -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        seq -> BigInt,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        app_id -> Text,
        user_id -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    login_failures (id) {
        id -> Text,
        user_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    code_guesses (id) {
        id -> Text,
        app_id -> Text,
        ip -> Text,
        created_at -> Timestamp,
        exposure -> Integer,
    }
}

diesel::table! {
    auth_attempts (id) {
        id -> Text,
        subject -> Text,
        outcome -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    user_events (id) {
        id -> Text,
        app_id -> Text,
        user_id -> Text,
        kind -> Text,
        detail -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    captchas (id) {
        id -> Text,
        app_id -> Text,
        token_hash -> Text,
        answer_hash -> Text,
        image -> Nullable<Binary>,
        ip -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        answered_at -> Nullable<Timestamp>,
        validate_hash -> Nullable<Text>,
        validate_expires_at -> Nullable<Timestamp>,
        validate_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    sms_items (id) {
        id -> Text,
        app_id -> Text,
        kind -> Text,
        name -> Text,
        live_revision_id -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        handle -> BigInt,
    }
}

diesel::table! {
    sms_revisions (id) {
        id -> Text,
        item_id -> Text,
        app_id -> Text,
        number -> Integer,
        state -> Text,
        body -> Text,
        category -> Nullable<Text>,
        signature -> Nullable<Text>,
        placement -> Nullable<Text>,
        captcha_required -> Bool,
        reason -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    sms_review_events (id) {
        id -> Text,
        item_id -> Text,
        revision_id -> Text,
        from_state -> Nullable<Text>,
        to_state -> Text,
        actor -> Text,
        reason -> Nullable<Text>,
        at -> Timestamp,
    }
}

diesel::table! {
    operators (id) {
        id -> Text,
        username -> Text,
        password_hash -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    operator_sessions (id) {
        id -> Text,
        operator_id -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    operator_failures (id) {
        id -> Text,
        username -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    imported_users (app_id, user_id) {
        app_id -> Text,
        user_id -> Text,
        digest -> Text,
        token_hash -> Nullable<Text>,
        written_at -> Timestamp,
        run_id -> Text,
        source -> Text,
        imported_at -> Timestamp,
    }
}

diesel::table! {
    app_upstreams (app_id) {
        app_id -> Text,
        server_url -> Text,
        upstream_app_id -> Text,
        app_key_sealed -> Binary,
        master_key_sealed -> Binary,
        until_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    open_api_codes (id) {
        id -> Text,
        app_id -> Text,
        code_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    app_credentials (app_id, dialect, name) {
        app_id -> Text,
        dialect -> Text,
        name -> Text,
        value -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    open_api_tokens (id) {
        id -> Text,
        app_id -> Text,
        access_hash -> Text,
        refresh_hash -> Text,
        created_at -> Timestamp,
        access_expires_at -> Timestamp,
        refresh_expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    counters (name) {
        name -> Text,
        value -> BigInt,
    }
}

diesel::joinable!(verification_codes -> apps (app_id));
diesel::joinable!(users -> apps (app_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(login_failures -> users (user_id));
diesel::joinable!(send_events -> apps (app_id));
diesel::joinable!(messages -> apps (app_id));
diesel::joinable!(captchas -> apps (app_id));
diesel::joinable!(sms_revisions -> sms_items (item_id));
diesel::joinable!(operator_sessions -> operators (operator_id));
diesel::joinable!(open_api_codes -> apps (app_id));
diesel::joinable!(open_api_tokens -> apps (app_id));
diesel::allow_tables_to_appear_in_same_query!(
    app_credentials,
    counters,
    apps,
    verification_codes,
    send_events,
    messages,
    instance_settings,
    users,
    sessions,
    login_failures,
    code_guesses,
    captchas,
    sms_items,
    sms_revisions,
    sms_review_events,
    operators,
    operator_sessions,
    operator_failures,
    imported_users,
    auth_attempts,
    user_events,
    app_upstreams,
    open_api_codes,
    open_api_tokens
);

diesel::table! {
    provider_templates (id) {
        id -> Text,
        provider -> Text,
        app_id -> Text,
        text_ref -> Text,
        template_code -> Text,
        params -> Text,
        sign_name -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    delivery_attempts (id) {
        id -> Text,
        message_id -> Text,
        provider -> Text,
        provider_message_id -> Nullable<Text>,
        outcome -> Text,
        error_code -> Nullable<Text>,
        error -> Nullable<Text>,
        latency_ms -> Integer,
        created_at -> Timestamp,
    }
}

diesel::table! {
    delivery_reports (id) {
        id -> Text,
        provider -> Text,
        provider_message_id -> Text,
        status -> Text,
        error_code -> Nullable<Text>,
        received_at -> Timestamp,
    }
}

diesel::table! {
    app_balances (app_id) {
        app_id -> Text,
        parts -> BigInt,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    schedules (id) {
        id -> Text,
        app_id -> Text,
        send_at -> Timestamp,
        template_handle -> BigInt,
        sign_handle -> Nullable<BigInt>,
        tag -> Nullable<Text>,
        batch -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    schedule_recipients (schedule_id, position) {
        schedule_id -> Text,
        position -> Integer,
        message_handle -> BigInt,
        phone -> Text,
        vars_sealed -> Binary,
    }
}

diesel::table! {
    sms_item_extras (item_id) {
        item_id -> Text,
        ttl_secs -> Nullable<Integer>,
        remark -> Nullable<Text>,
        sign_type -> Nullable<Integer>,
        image -> Nullable<Binary>,
        image_type -> Nullable<Text>,
        updated_at -> Timestamp,
    }
}

diesel::joinable!(schedule_recipients -> schedules (schedule_id));
diesel::allow_tables_to_appear_in_same_query!(schedules, schedule_recipients);

diesel::table! {
    app_providers (app_id, name) {
        app_id -> Text,
        name -> Text,
        position -> Integer,
        config -> Text,
        secrets_sealed -> Binary,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    provider_circuits (provider) {
        provider -> Text,
        failures -> Integer,
        window_started_at -> Nullable<Timestamp>,
        opened_until -> Nullable<Timestamp>,
        probe_until -> Nullable<Timestamp>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    refusal_counts (app_id, hour, reason) {
        app_id -> Text,
        hour -> Timestamp,
        reason -> Text,
        n -> BigInt,
    }
}
