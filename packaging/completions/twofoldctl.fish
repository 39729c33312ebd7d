# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_twofoldctl_global_optspecs
    string join \n socket= url= token-file= json h/help V/version
end

function __fish_twofoldctl_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_twofoldctl_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_twofoldctl_using_subcommand
    set -l cmd (__fish_twofoldctl_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c twofoldctl -n "__fish_twofoldctl_needs_command" -l socket -d 'The daemon\'s admin socket' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_needs_command" -l url -d 'Talk to a remote daemon\'s admin API instead of the local socket (https://HOST[:PORT]; plain http only to a loopback address). Needs --token-file' -r
complete -c twofoldctl -n "__fish_twofoldctl_needs_command" -l token-file -d 'File holding the admin token for --url (see `twofoldctl admin-token new`)' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_needs_command" -l json -d 'Print one JSON document instead of tables (stable keys, for scripts)'
complete -c twofoldctl -n "__fish_twofoldctl_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c twofoldctl -n "__fish_twofoldctl_needs_command" -s V -l version -d 'Print version'
complete -c twofoldctl -n "__fish_twofoldctl_needs_command" -f -a "settings" -d 'Show, change, export and import the settings'
complete -c twofoldctl -n "__fish_twofoldctl_needs_command" -f -a "users" -d 'Users: list, overview, show, resets, unlock, backup codes, phone and email'
complete -c twofoldctl -n "__fish_twofoldctl_needs_command" -f -a "integrations" -d 'Integrations (SMS providers, SMTP relays): add, show, list, select, check, test'
complete -c twofoldctl -n "__fish_twofoldctl_needs_command" -f -a "email" -d 'Email sender: send a test email'
complete -c twofoldctl -n "__fish_twofoldctl_needs_command" -f -a "delivery" -d 'Delivery of SMS and email codes: the delivery log'
complete -c twofoldctl -n "__fish_twofoldctl_needs_command" -f -a "keys" -d 'ID-token signing keys of the OpenID Connect provider: list, rotate'
complete -c twofoldctl -n "__fish_twofoldctl_needs_command" -f -a "clients" -d 'OpenID Connect clients (relying parties) registered in the store: list, add, remove'
complete -c twofoldctl -n "__fish_twofoldctl_needs_command" -f -a "audit" -d 'Query the audit trail'
complete -c twofoldctl -n "__fish_twofoldctl_needs_command" -f -a "why" -d 'Explain a user\'s last decisions, or a hypothetical sign-in, reason by reason'
complete -c twofoldctl -n "__fish_twofoldctl_needs_command" -f -a "doctor" -d 'Check the whole setup against the support guide\'s symptoms; name each cause and its fix'
complete -c twofoldctl -n "__fish_twofoldctl_needs_command" -f -a "admin-token" -d 'Create a token for the remote admin API: prints the token (keep it in a 0600 file) and the `[admin] api_tokens` entry for twofoldd.toml. Talks to no daemon'
complete -c twofoldctl -n "__fish_twofoldctl_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c twofoldctl -n "__fish_twofoldctl_needs_command" -f -a "gen-man" -d 'Write the man pages (twofoldctl.1 and one per subcommand) into DIR'
complete -c twofoldctl -n "__fish_twofoldctl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand settings; and not __fish_seen_subcommand_from show set export import help" -l socket -d 'The daemon\'s admin socket' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand settings; and not __fish_seen_subcommand_from show set export import help" -l url -d 'Talk to a remote daemon\'s admin API instead of the local socket (https://HOST[:PORT]; plain http only to a loopback address). Needs --token-file' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand settings; and not __fish_seen_subcommand_from show set export import help" -l token-file -d 'File holding the admin token for --url (see `twofoldctl admin-token new`)' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand settings; and not __fish_seen_subcommand_from show set export import help" -l json -d 'Print one JSON document instead of tables (stable keys, for scripts)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand settings; and not __fish_seen_subcommand_from show set export import help" -s h -l help -d 'Print help'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand settings; and not __fish_seen_subcommand_from show set export import help" -s V -l version -d 'Print version'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand settings; and not __fish_seen_subcommand_from show set export import help" -f -a "show" -d 'Show every setting, marking those at their default'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand settings; and not __fish_seen_subcommand_from show set export import help" -f -a "set" -d 'Change settings: `set KEY VALUE [KEY VALUE]...` or `set KEY=VALUE...`, validated as a whole'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand settings; and not __fish_seen_subcommand_from show set export import help" -f -a "export" -d 'Print the settings as TOML'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand settings; and not __fish_seen_subcommand_from show set export import help" -f -a "import" -d 'Replace the settings with a TOML file (validated as a whole; missing keys take defaults)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand settings; and not __fish_seen_subcommand_from show set export import help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand settings; and __fish_seen_subcommand_from show" -l socket -d 'The daemon\'s admin socket' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand settings; and __fish_seen_subcommand_from show" -l url -d 'Talk to a remote daemon\'s admin API instead of the local socket (https://HOST[:PORT]; plain http only to a loopback address). Needs --token-file' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand settings; and __fish_seen_subcommand_from show" -l token-file -d 'File holding the admin token for --url (see `twofoldctl admin-token new`)' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand settings; and __fish_seen_subcommand_from show" -l json -d 'Print one JSON document instead of tables (stable keys, for scripts)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand settings; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand settings; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand settings; and __fish_seen_subcommand_from set" -l socket -d 'The daemon\'s admin socket' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand settings; and __fish_seen_subcommand_from set" -l url -d 'Talk to a remote daemon\'s admin API instead of the local socket (https://HOST[:PORT]; plain http only to a loopback address). Needs --token-file' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand settings; and __fish_seen_subcommand_from set" -l token-file -d 'File holding the admin token for --url (see `twofoldctl admin-token new`)' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand settings; and __fish_seen_subcommand_from set" -l json -d 'Print one JSON document instead of tables (stable keys, for scripts)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand settings; and __fish_seen_subcommand_from set" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand settings; and __fish_seen_subcommand_from set" -s V -l version -d 'Print version'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand settings; and __fish_seen_subcommand_from export" -s o -l output -d 'Write to this file instead of standard output' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand settings; and __fish_seen_subcommand_from export" -l socket -d 'The daemon\'s admin socket' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand settings; and __fish_seen_subcommand_from export" -l url -d 'Talk to a remote daemon\'s admin API instead of the local socket (https://HOST[:PORT]; plain http only to a loopback address). Needs --token-file' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand settings; and __fish_seen_subcommand_from export" -l token-file -d 'File holding the admin token for --url (see `twofoldctl admin-token new`)' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand settings; and __fish_seen_subcommand_from export" -l json -d 'Print one JSON document instead of tables (stable keys, for scripts)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand settings; and __fish_seen_subcommand_from export" -s h -l help -d 'Print help'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand settings; and __fish_seen_subcommand_from export" -s V -l version -d 'Print version'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand settings; and __fish_seen_subcommand_from import" -l socket -d 'The daemon\'s admin socket' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand settings; and __fish_seen_subcommand_from import" -l url -d 'Talk to a remote daemon\'s admin API instead of the local socket (https://HOST[:PORT]; plain http only to a loopback address). Needs --token-file' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand settings; and __fish_seen_subcommand_from import" -l token-file -d 'File holding the admin token for --url (see `twofoldctl admin-token new`)' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand settings; and __fish_seen_subcommand_from import" -l json -d 'Print one JSON document instead of tables (stable keys, for scripts)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand settings; and __fish_seen_subcommand_from import" -s h -l help -d 'Print help'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand settings; and __fish_seen_subcommand_from import" -s V -l version -d 'Print version'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand settings; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show every setting, marking those at their default'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand settings; and __fish_seen_subcommand_from help" -f -a "set" -d 'Change settings: `set KEY VALUE [KEY VALUE]...` or `set KEY=VALUE...`, validated as a whole'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand settings; and __fish_seen_subcommand_from help" -f -a "export" -d 'Print the settings as TOML'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand settings; and __fish_seen_subcommand_from help" -f -a "import" -d 'Replace the settings with a TOML file (validated as a whole; missing keys take defaults)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand settings; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and not __fish_seen_subcommand_from list overview show reset reset-pending unlock backup-codes remind-pending set-phone set-email set-default-method help" -l socket -d 'The daemon\'s admin socket' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and not __fish_seen_subcommand_from list overview show reset reset-pending unlock backup-codes remind-pending set-phone set-email set-default-method help" -l url -d 'Talk to a remote daemon\'s admin API instead of the local socket (https://HOST[:PORT]; plain http only to a loopback address). Needs --token-file' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and not __fish_seen_subcommand_from list overview show reset reset-pending unlock backup-codes remind-pending set-phone set-email set-default-method help" -l token-file -d 'File holding the admin token for --url (see `twofoldctl admin-token new`)' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and not __fish_seen_subcommand_from list overview show reset reset-pending unlock backup-codes remind-pending set-phone set-email set-default-method help" -l json -d 'Print one JSON document instead of tables (stable keys, for scripts)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and not __fish_seen_subcommand_from list overview show reset reset-pending unlock backup-codes remind-pending set-phone set-email set-default-method help" -s h -l help -d 'Print help'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and not __fish_seen_subcommand_from list overview show reset reset-pending unlock backup-codes remind-pending set-phone set-email set-default-method help" -s V -l version -d 'Print version'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and not __fish_seen_subcommand_from list overview show reset reset-pending unlock backup-codes remind-pending set-phone set-email set-default-method help" -f -a "list" -d 'List users with their enrollment status and methods'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and not __fish_seen_subcommand_from list overview show reset reset-pending unlock backup-codes remind-pending set-phone set-email set-default-method help" -f -a "overview" -d 'Counts per state: not enrolled, pending, enrolled, locked (the Overview tab)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and not __fish_seen_subcommand_from list overview show reset reset-pending unlock backup-codes remind-pending set-phone set-email set-default-method help" -f -a "show" -d 'One user: status, methods, default method, phone and email (masked), backup codes left, last sign-ins'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and not __fish_seen_subcommand_from list overview show reset reset-pending unlock backup-codes remind-pending set-phone set-email set-default-method help" -f -a "reset" -d 'Reset a user\'s enrollment: deletes the secret and backup codes; they enroll again at the next sign-in'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and not __fish_seen_subcommand_from list overview show reset reset-pending unlock backup-codes remind-pending set-phone set-email set-default-method help" -f -a "reset-pending" -d 'Reset every user in the pending state at once (needs --yes)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and not __fish_seen_subcommand_from list overview show reset reset-pending unlock backup-codes remind-pending set-phone set-email set-default-method help" -f -a "unlock" -d 'Clear a user\'s lock after too many consecutive failed codes'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and not __fish_seen_subcommand_from list overview show reset reset-pending unlock backup-codes remind-pending set-phone set-email set-default-method help" -f -a "backup-codes" -d 'Regenerate a user\'s backup codes (shown once; the old ones stop working)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and not __fish_seen_subcommand_from list overview show reset reset-pending unlock backup-codes remind-pending set-phone set-email set-default-method help" -f -a "remind-pending" -d 'Email every pending user a reminder with the manual-entry instructions'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and not __fish_seen_subcommand_from list overview show reset reset-pending unlock backup-codes remind-pending set-phone set-email set-default-method help" -f -a "set-phone" -d 'Set a user\'s phone number (international format with country code, e.g. +14155550123)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and not __fish_seen_subcommand_from list overview show reset reset-pending unlock backup-codes remind-pending set-phone set-email set-default-method help" -f -a "set-email" -d 'Set a user\'s email address'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and not __fish_seen_subcommand_from list overview show reset reset-pending unlock backup-codes remind-pending set-phone set-email set-default-method help" -f -a "set-default-method" -d 'Set a user\'s own default method (authenticator_app, sms, email)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and not __fish_seen_subcommand_from list overview show reset reset-pending unlock backup-codes remind-pending set-phone set-email set-default-method help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from list" -l status -d 'Only users in this state' -r -f -a "not_enrolled\t'Known but not enrolled'
pending\t'A secret was issued but never confirmed'
enrolled\t'Enrolled'
locked\t'Locked by consecutive failed codes'"
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from list" -l socket -d 'The daemon\'s admin socket' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from list" -l url -d 'Talk to a remote daemon\'s admin API instead of the local socket (https://HOST[:PORT]; plain http only to a loopback address). Needs --token-file' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from list" -l token-file -d 'File holding the admin token for --url (see `twofoldctl admin-token new`)' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from list" -l json -d 'Print one JSON document instead of tables (stable keys, for scripts)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from overview" -l socket -d 'The daemon\'s admin socket' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from overview" -l url -d 'Talk to a remote daemon\'s admin API instead of the local socket (https://HOST[:PORT]; plain http only to a loopback address). Needs --token-file' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from overview" -l token-file -d 'File holding the admin token for --url (see `twofoldctl admin-token new`)' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from overview" -l json -d 'Print one JSON document instead of tables (stable keys, for scripts)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from overview" -s h -l help -d 'Print help'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from overview" -s V -l version -d 'Print version'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from show" -l socket -d 'The daemon\'s admin socket' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from show" -l url -d 'Talk to a remote daemon\'s admin API instead of the local socket (https://HOST[:PORT]; plain http only to a loopback address). Needs --token-file' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from show" -l token-file -d 'File holding the admin token for --url (see `twofoldctl admin-token new`)' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from show" -l json -d 'Print one JSON document instead of tables (stable keys, for scripts)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from reset" -l socket -d 'The daemon\'s admin socket' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from reset" -l url -d 'Talk to a remote daemon\'s admin API instead of the local socket (https://HOST[:PORT]; plain http only to a loopback address). Needs --token-file' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from reset" -l token-file -d 'File holding the admin token for --url (see `twofoldctl admin-token new`)' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from reset" -l json -d 'Print one JSON document instead of tables (stable keys, for scripts)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from reset" -s h -l help -d 'Print help'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from reset" -s V -l version -d 'Print version'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from reset-pending" -l socket -d 'The daemon\'s admin socket' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from reset-pending" -l url -d 'Talk to a remote daemon\'s admin API instead of the local socket (https://HOST[:PORT]; plain http only to a loopback address). Needs --token-file' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from reset-pending" -l token-file -d 'File holding the admin token for --url (see `twofoldctl admin-token new`)' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from reset-pending" -l yes -d 'Confirm: reset them all'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from reset-pending" -l json -d 'Print one JSON document instead of tables (stable keys, for scripts)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from reset-pending" -s h -l help -d 'Print help'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from reset-pending" -s V -l version -d 'Print version'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from unlock" -l socket -d 'The daemon\'s admin socket' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from unlock" -l url -d 'Talk to a remote daemon\'s admin API instead of the local socket (https://HOST[:PORT]; plain http only to a loopback address). Needs --token-file' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from unlock" -l token-file -d 'File holding the admin token for --url (see `twofoldctl admin-token new`)' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from unlock" -l json -d 'Print one JSON document instead of tables (stable keys, for scripts)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from unlock" -s h -l help -d 'Print help'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from unlock" -s V -l version -d 'Print version'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from backup-codes" -l socket -d 'The daemon\'s admin socket' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from backup-codes" -l url -d 'Talk to a remote daemon\'s admin API instead of the local socket (https://HOST[:PORT]; plain http only to a loopback address). Needs --token-file' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from backup-codes" -l token-file -d 'File holding the admin token for --url (see `twofoldctl admin-token new`)' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from backup-codes" -l json -d 'Print one JSON document instead of tables (stable keys, for scripts)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from backup-codes" -s h -l help -d 'Print help'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from backup-codes" -s V -l version -d 'Print version'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from remind-pending" -l socket -d 'The daemon\'s admin socket' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from remind-pending" -l url -d 'Talk to a remote daemon\'s admin API instead of the local socket (https://HOST[:PORT]; plain http only to a loopback address). Needs --token-file' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from remind-pending" -l token-file -d 'File holding the admin token for --url (see `twofoldctl admin-token new`)' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from remind-pending" -l json -d 'Print one JSON document instead of tables (stable keys, for scripts)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from remind-pending" -s h -l help -d 'Print help'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from remind-pending" -s V -l version -d 'Print version'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from set-phone" -l socket -d 'The daemon\'s admin socket' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from set-phone" -l url -d 'Talk to a remote daemon\'s admin API instead of the local socket (https://HOST[:PORT]; plain http only to a loopback address). Needs --token-file' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from set-phone" -l token-file -d 'File holding the admin token for --url (see `twofoldctl admin-token new`)' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from set-phone" -l create -d 'Also for a user twofold has not seen sign in yet (creates the user, not enrolled)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from set-phone" -l json -d 'Print one JSON document instead of tables (stable keys, for scripts)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from set-phone" -s h -l help -d 'Print help'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from set-phone" -s V -l version -d 'Print version'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from set-email" -l socket -d 'The daemon\'s admin socket' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from set-email" -l url -d 'Talk to a remote daemon\'s admin API instead of the local socket (https://HOST[:PORT]; plain http only to a loopback address). Needs --token-file' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from set-email" -l token-file -d 'File holding the admin token for --url (see `twofoldctl admin-token new`)' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from set-email" -l create -d 'Also for a user twofold has not seen sign in yet (creates the user, not enrolled)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from set-email" -l json -d 'Print one JSON document instead of tables (stable keys, for scripts)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from set-email" -s h -l help -d 'Print help'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from set-email" -s V -l version -d 'Print version'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from set-default-method" -l socket -d 'The daemon\'s admin socket' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from set-default-method" -l url -d 'Talk to a remote daemon\'s admin API instead of the local socket (https://HOST[:PORT]; plain http only to a loopback address). Needs --token-file' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from set-default-method" -l token-file -d 'File holding the admin token for --url (see `twofoldctl admin-token new`)' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from set-default-method" -l json -d 'Print one JSON document instead of tables (stable keys, for scripts)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from set-default-method" -s h -l help -d 'Print help'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from set-default-method" -s V -l version -d 'Print version'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from help" -f -a "list" -d 'List users with their enrollment status and methods'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from help" -f -a "overview" -d 'Counts per state: not enrolled, pending, enrolled, locked (the Overview tab)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from help" -f -a "show" -d 'One user: status, methods, default method, phone and email (masked), backup codes left, last sign-ins'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from help" -f -a "reset" -d 'Reset a user\'s enrollment: deletes the secret and backup codes; they enroll again at the next sign-in'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from help" -f -a "reset-pending" -d 'Reset every user in the pending state at once (needs --yes)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from help" -f -a "unlock" -d 'Clear a user\'s lock after too many consecutive failed codes'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from help" -f -a "backup-codes" -d 'Regenerate a user\'s backup codes (shown once; the old ones stop working)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from help" -f -a "remind-pending" -d 'Email every pending user a reminder with the manual-entry instructions'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from help" -f -a "set-phone" -d 'Set a user\'s phone number (international format with country code, e.g. +14155550123)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from help" -f -a "set-email" -d 'Set a user\'s email address'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from help" -f -a "set-default-method" -d 'Set a user\'s own default method (authenticator_app, sms, email)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand users; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and not __fish_seen_subcommand_from add show list use-for-sms check test-sms help" -l socket -d 'The daemon\'s admin socket' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and not __fish_seen_subcommand_from add show list use-for-sms check test-sms help" -l url -d 'Talk to a remote daemon\'s admin API instead of the local socket (https://HOST[:PORT]; plain http only to a loopback address). Needs --token-file' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and not __fish_seen_subcommand_from add show list use-for-sms check test-sms help" -l token-file -d 'File holding the admin token for --url (see `twofoldctl admin-token new`)' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and not __fish_seen_subcommand_from add show list use-for-sms check test-sms help" -l json -d 'Print one JSON document instead of tables (stable keys, for scripts)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and not __fish_seen_subcommand_from add show list use-for-sms check test-sms help" -s h -l help -d 'Print help'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and not __fish_seen_subcommand_from add show list use-for-sms check test-sms help" -s V -l version -d 'Print version'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and not __fish_seen_subcommand_from add show list use-for-sms check test-sms help" -f -a "add" -d 'Add (or replace) an SMS provider integration'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and not __fish_seen_subcommand_from add show list use-for-sms check test-sms help" -f -a "show" -d 'Show one integration (credentials redacted) with its health'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and not __fish_seen_subcommand_from add show list use-for-sms check test-sms help" -f -a "list" -d 'List integrations'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and not __fish_seen_subcommand_from add show list use-for-sms check test-sms help" -f -a "use-for-sms" -d 'Select this integration as the SMS provider'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and not __fish_seen_subcommand_from add show list use-for-sms check test-sms help" -f -a "check" -d 'Check an integration\'s credentials against the provider'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and not __fish_seen_subcommand_from add show list use-for-sms check test-sms help" -f -a "test-sms" -d 'Send a test SMS through the selected (or named) integration'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and not __fish_seen_subcommand_from add show list use-for-sms check test-sms help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and __fish_seen_subcommand_from add" -l kind -d 'What it talks to' -r -f -a "twilio\t'A Twilio-compatible Messages API (SMS)'
webhook\t'A generic JSON webhook signed with HMAC-SHA256 (SMS)'
smtp\t'An SMTP relay (email)'"
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and __fish_seen_subcommand_from add" -l set -d 'A setting, KEY=VALUE (repeat): `--set account_sid=AC... --set from=+14155550100`' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and __fish_seen_subcommand_from add" -l secret-file -d 'A secret read from a file, KEY=FILE (repeat): `--secret-file auth_token=/root/twilio.token`' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and __fish_seen_subcommand_from add" -l socket -d 'The daemon\'s admin socket' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and __fish_seen_subcommand_from add" -l url -d 'Talk to a remote daemon\'s admin API instead of the local socket (https://HOST[:PORT]; plain http only to a loopback address). Needs --token-file' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and __fish_seen_subcommand_from add" -l token-file -d 'File holding the admin token for --url (see `twofoldctl admin-token new`)' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and __fish_seen_subcommand_from add" -l replace -d 'Replace an existing integration of this name (its health history is kept)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and __fish_seen_subcommand_from add" -l json -d 'Print one JSON document instead of tables (stable keys, for scripts)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and __fish_seen_subcommand_from add" -s V -l version -d 'Print version'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and __fish_seen_subcommand_from show" -l socket -d 'The daemon\'s admin socket' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and __fish_seen_subcommand_from show" -l url -d 'Talk to a remote daemon\'s admin API instead of the local socket (https://HOST[:PORT]; plain http only to a loopback address). Needs --token-file' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and __fish_seen_subcommand_from show" -l token-file -d 'File holding the admin token for --url (see `twofoldctl admin-token new`)' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and __fish_seen_subcommand_from show" -l json -d 'Print one JSON document instead of tables (stable keys, for scripts)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and __fish_seen_subcommand_from show" -s h -l help -d 'Print help'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and __fish_seen_subcommand_from show" -s V -l version -d 'Print version'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and __fish_seen_subcommand_from list" -l socket -d 'The daemon\'s admin socket' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and __fish_seen_subcommand_from list" -l url -d 'Talk to a remote daemon\'s admin API instead of the local socket (https://HOST[:PORT]; plain http only to a loopback address). Needs --token-file' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and __fish_seen_subcommand_from list" -l token-file -d 'File holding the admin token for --url (see `twofoldctl admin-token new`)' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and __fish_seen_subcommand_from list" -l json -d 'Print one JSON document instead of tables (stable keys, for scripts)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and __fish_seen_subcommand_from use-for-sms" -l socket -d 'The daemon\'s admin socket' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and __fish_seen_subcommand_from use-for-sms" -l url -d 'Talk to a remote daemon\'s admin API instead of the local socket (https://HOST[:PORT]; plain http only to a loopback address). Needs --token-file' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and __fish_seen_subcommand_from use-for-sms" -l token-file -d 'File holding the admin token for --url (see `twofoldctl admin-token new`)' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and __fish_seen_subcommand_from use-for-sms" -l json -d 'Print one JSON document instead of tables (stable keys, for scripts)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and __fish_seen_subcommand_from use-for-sms" -s h -l help -d 'Print help'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and __fish_seen_subcommand_from use-for-sms" -s V -l version -d 'Print version'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and __fish_seen_subcommand_from check" -l socket -d 'The daemon\'s admin socket' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and __fish_seen_subcommand_from check" -l url -d 'Talk to a remote daemon\'s admin API instead of the local socket (https://HOST[:PORT]; plain http only to a loopback address). Needs --token-file' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and __fish_seen_subcommand_from check" -l token-file -d 'File holding the admin token for --url (see `twofoldctl admin-token new`)' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and __fish_seen_subcommand_from check" -l json -d 'Print one JSON document instead of tables (stable keys, for scripts)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and __fish_seen_subcommand_from check" -s h -l help -d 'Print help'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and __fish_seen_subcommand_from check" -s V -l version -d 'Print version'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and __fish_seen_subcommand_from test-sms" -l integration -d 'Integration to use instead of the selected SMS provider' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and __fish_seen_subcommand_from test-sms" -l socket -d 'The daemon\'s admin socket' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and __fish_seen_subcommand_from test-sms" -l url -d 'Talk to a remote daemon\'s admin API instead of the local socket (https://HOST[:PORT]; plain http only to a loopback address). Needs --token-file' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and __fish_seen_subcommand_from test-sms" -l token-file -d 'File holding the admin token for --url (see `twofoldctl admin-token new`)' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and __fish_seen_subcommand_from test-sms" -l json -d 'Print one JSON document instead of tables (stable keys, for scripts)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and __fish_seen_subcommand_from test-sms" -s h -l help -d 'Print help'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and __fish_seen_subcommand_from test-sms" -s V -l version -d 'Print version'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and __fish_seen_subcommand_from help" -f -a "add" -d 'Add (or replace) an SMS provider integration'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and __fish_seen_subcommand_from help" -f -a "show" -d 'Show one integration (credentials redacted) with its health'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and __fish_seen_subcommand_from help" -f -a "list" -d 'List integrations'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and __fish_seen_subcommand_from help" -f -a "use-for-sms" -d 'Select this integration as the SMS provider'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and __fish_seen_subcommand_from help" -f -a "check" -d 'Check an integration\'s credentials against the provider'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and __fish_seen_subcommand_from help" -f -a "test-sms" -d 'Send a test SMS through the selected (or named) integration'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand integrations; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand email; and not __fish_seen_subcommand_from test help" -l socket -d 'The daemon\'s admin socket' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand email; and not __fish_seen_subcommand_from test help" -l url -d 'Talk to a remote daemon\'s admin API instead of the local socket (https://HOST[:PORT]; plain http only to a loopback address). Needs --token-file' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand email; and not __fish_seen_subcommand_from test help" -l token-file -d 'File holding the admin token for --url (see `twofoldctl admin-token new`)' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand email; and not __fish_seen_subcommand_from test help" -l json -d 'Print one JSON document instead of tables (stable keys, for scripts)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand email; and not __fish_seen_subcommand_from test help" -s h -l help -d 'Print help'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand email; and not __fish_seen_subcommand_from test help" -s V -l version -d 'Print version'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand email; and not __fish_seen_subcommand_from test help" -f -a "test" -d 'Send a test email through the configured sender'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand email; and not __fish_seen_subcommand_from test help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand email; and __fish_seen_subcommand_from test" -l socket -d 'The daemon\'s admin socket' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand email; and __fish_seen_subcommand_from test" -l url -d 'Talk to a remote daemon\'s admin API instead of the local socket (https://HOST[:PORT]; plain http only to a loopback address). Needs --token-file' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand email; and __fish_seen_subcommand_from test" -l token-file -d 'File holding the admin token for --url (see `twofoldctl admin-token new`)' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand email; and __fish_seen_subcommand_from test" -l json -d 'Print one JSON document instead of tables (stable keys, for scripts)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand email; and __fish_seen_subcommand_from test" -s h -l help -d 'Print help'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand email; and __fish_seen_subcommand_from test" -s V -l version -d 'Print version'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand email; and __fish_seen_subcommand_from help" -f -a "test" -d 'Send a test email through the configured sender'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand email; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand delivery; and not __fish_seen_subcommand_from log counts help" -l socket -d 'The daemon\'s admin socket' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand delivery; and not __fish_seen_subcommand_from log counts help" -l url -d 'Talk to a remote daemon\'s admin API instead of the local socket (https://HOST[:PORT]; plain http only to a loopback address). Needs --token-file' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand delivery; and not __fish_seen_subcommand_from log counts help" -l token-file -d 'File holding the admin token for --url (see `twofoldctl admin-token new`)' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand delivery; and not __fish_seen_subcommand_from log counts help" -l json -d 'Print one JSON document instead of tables (stable keys, for scripts)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand delivery; and not __fish_seen_subcommand_from log counts help" -s h -l help -d 'Print help'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand delivery; and not __fish_seen_subcommand_from log counts help" -s V -l version -d 'Print version'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand delivery; and not __fish_seen_subcommand_from log counts help" -f -a "log" -d 'The delivery log: every send attempt with its outcome'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand delivery; and not __fish_seen_subcommand_from log counts help" -f -a "counts" -d 'Messages per integration and day (queued, sent, failed, provider calls): what the SMS bill is made of'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand delivery; and not __fish_seen_subcommand_from log counts help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand delivery; and __fish_seen_subcommand_from log" -l user -d 'Only this user' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand delivery; and __fish_seen_subcommand_from log" -l channel -d 'Only this channel' -r -f -a "sms\t''
email\t''"
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand delivery; and __fish_seen_subcommand_from log" -l since -d 'Not before (2026-11-20, 2026-11-20T10:00:00Z, unix seconds, or 30m / 12h / 7d ago)' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand delivery; and __fish_seen_subcommand_from log" -l limit -d 'At most this many, newest first' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand delivery; and __fish_seen_subcommand_from log" -l socket -d 'The daemon\'s admin socket' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand delivery; and __fish_seen_subcommand_from log" -l url -d 'Talk to a remote daemon\'s admin API instead of the local socket (https://HOST[:PORT]; plain http only to a loopback address). Needs --token-file' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand delivery; and __fish_seen_subcommand_from log" -l token-file -d 'File holding the admin token for --url (see `twofoldctl admin-token new`)' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand delivery; and __fish_seen_subcommand_from log" -l json -d 'Print one JSON document instead of tables (stable keys, for scripts)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand delivery; and __fish_seen_subcommand_from log" -s h -l help -d 'Print help'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand delivery; and __fish_seen_subcommand_from log" -s V -l version -d 'Print version'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand delivery; and __fish_seen_subcommand_from counts" -l days -d 'Days back, today included' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand delivery; and __fish_seen_subcommand_from counts" -l integration -d 'Only this integration' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand delivery; and __fish_seen_subcommand_from counts" -l socket -d 'The daemon\'s admin socket' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand delivery; and __fish_seen_subcommand_from counts" -l url -d 'Talk to a remote daemon\'s admin API instead of the local socket (https://HOST[:PORT]; plain http only to a loopback address). Needs --token-file' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand delivery; and __fish_seen_subcommand_from counts" -l token-file -d 'File holding the admin token for --url (see `twofoldctl admin-token new`)' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand delivery; and __fish_seen_subcommand_from counts" -l json -d 'Print one JSON document instead of tables (stable keys, for scripts)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand delivery; and __fish_seen_subcommand_from counts" -s h -l help -d 'Print help'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand delivery; and __fish_seen_subcommand_from counts" -s V -l version -d 'Print version'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand delivery; and __fish_seen_subcommand_from help" -f -a "log" -d 'The delivery log: every send attempt with its outcome'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand delivery; and __fish_seen_subcommand_from help" -f -a "counts" -d 'Messages per integration and day (queued, sent, failed, provider calls): what the SMS bill is made of'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand delivery; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand keys; and not __fish_seen_subcommand_from list rotate help" -l socket -d 'The daemon\'s admin socket' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand keys; and not __fish_seen_subcommand_from list rotate help" -l url -d 'Talk to a remote daemon\'s admin API instead of the local socket (https://HOST[:PORT]; plain http only to a loopback address). Needs --token-file' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand keys; and not __fish_seen_subcommand_from list rotate help" -l token-file -d 'File holding the admin token for --url (see `twofoldctl admin-token new`)' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand keys; and not __fish_seen_subcommand_from list rotate help" -l json -d 'Print one JSON document instead of tables (stable keys, for scripts)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand keys; and not __fish_seen_subcommand_from list rotate help" -s h -l help -d 'Print help'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand keys; and not __fish_seen_subcommand_from list rotate help" -s V -l version -d 'Print version'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand keys; and not __fish_seen_subcommand_from list rotate help" -f -a "list" -d 'List the ID-token signing keys and what each does now'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand keys; and not __fish_seen_subcommand_from list rotate help" -f -a "rotate" -d 'Rotate the signing keys now (asks first unless --yes)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand keys; and not __fish_seen_subcommand_from list rotate help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand keys; and __fish_seen_subcommand_from list" -l socket -d 'The daemon\'s admin socket' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand keys; and __fish_seen_subcommand_from list" -l url -d 'Talk to a remote daemon\'s admin API instead of the local socket (https://HOST[:PORT]; plain http only to a loopback address). Needs --token-file' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand keys; and __fish_seen_subcommand_from list" -l token-file -d 'File holding the admin token for --url (see `twofoldctl admin-token new`)' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand keys; and __fish_seen_subcommand_from list" -l json -d 'Print one JSON document instead of tables (stable keys, for scripts)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand keys; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand keys; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand keys; and __fish_seen_subcommand_from rotate" -l socket -d 'The daemon\'s admin socket' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand keys; and __fish_seen_subcommand_from rotate" -l url -d 'Talk to a remote daemon\'s admin API instead of the local socket (https://HOST[:PORT]; plain http only to a loopback address). Needs --token-file' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand keys; and __fish_seen_subcommand_from rotate" -l token-file -d 'File holding the admin token for --url (see `twofoldctl admin-token new`)' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand keys; and __fish_seen_subcommand_from rotate" -l yes -d 'Do not ask: rotate'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand keys; and __fish_seen_subcommand_from rotate" -l json -d 'Print one JSON document instead of tables (stable keys, for scripts)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand keys; and __fish_seen_subcommand_from rotate" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand keys; and __fish_seen_subcommand_from rotate" -s V -l version -d 'Print version'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the ID-token signing keys and what each does now'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "rotate" -d 'Rotate the signing keys now (asks first unless --yes)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand keys; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand clients; and not __fish_seen_subcommand_from list add remove help" -l socket -d 'The daemon\'s admin socket' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand clients; and not __fish_seen_subcommand_from list add remove help" -l url -d 'Talk to a remote daemon\'s admin API instead of the local socket (https://HOST[:PORT]; plain http only to a loopback address). Needs --token-file' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand clients; and not __fish_seen_subcommand_from list add remove help" -l token-file -d 'File holding the admin token for --url (see `twofoldctl admin-token new`)' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand clients; and not __fish_seen_subcommand_from list add remove help" -l json -d 'Print one JSON document instead of tables (stable keys, for scripts)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand clients; and not __fish_seen_subcommand_from list add remove help" -s h -l help -d 'Print help'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand clients; and not __fish_seen_subcommand_from list add remove help" -s V -l version -d 'Print version'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand clients; and not __fish_seen_subcommand_from list add remove help" -f -a "list" -d 'List the registered clients: those of the configuration file and those of the store'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand clients; and not __fish_seen_subcommand_from list add remove help" -f -a "add" -d 'Register a client in the store'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand clients; and not __fish_seen_subcommand_from list add remove help" -f -a "remove" -d 'Remove a client from the store and revoke its tokens (asks first unless --yes)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand clients; and not __fish_seen_subcommand_from list add remove help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand clients; and __fish_seen_subcommand_from list" -l socket -d 'The daemon\'s admin socket' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand clients; and __fish_seen_subcommand_from list" -l url -d 'Talk to a remote daemon\'s admin API instead of the local socket (https://HOST[:PORT]; plain http only to a loopback address). Needs --token-file' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand clients; and __fish_seen_subcommand_from list" -l token-file -d 'File holding the admin token for --url (see `twofoldctl admin-token new`)' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand clients; and __fish_seen_subcommand_from list" -l json -d 'Print one JSON document instead of tables (stable keys, for scripts)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand clients; and __fish_seen_subcommand_from list" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand clients; and __fish_seen_subcommand_from list" -s V -l version -d 'Print version'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand clients; and __fish_seen_subcommand_from add" -l redirect-uri -d 'A redirect URI (absolute http or https URL, no fragment); repeat for more' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand clients; and __fish_seen_subcommand_from add" -l post-logout-redirect-uri -d 'A post-logout redirect URI; repeat for more' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand clients; and __fish_seen_subcommand_from add" -l name -d 'Name shown on the sign-in page (default: the client id)' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand clients; and __fish_seen_subcommand_from add" -l grant-types -d 'Grant types, comma-separated: authorization_code, refresh_token (default: both)' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand clients; and __fish_seen_subcommand_from add" -l socket -d 'The daemon\'s admin socket' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand clients; and __fish_seen_subcommand_from add" -l url -d 'Talk to a remote daemon\'s admin API instead of the local socket (https://HOST[:PORT]; plain http only to a loopback address). Needs --token-file' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand clients; and __fish_seen_subcommand_from add" -l token-file -d 'File holding the admin token for --url (see `twofoldctl admin-token new`)' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand clients; and __fish_seen_subcommand_from add" -l public -d 'A public client: no secret, PKCE required'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand clients; and __fish_seen_subcommand_from add" -l json -d 'Print one JSON document instead of tables (stable keys, for scripts)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand clients; and __fish_seen_subcommand_from add" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand clients; and __fish_seen_subcommand_from add" -s V -l version -d 'Print version'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand clients; and __fish_seen_subcommand_from remove" -l socket -d 'The daemon\'s admin socket' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand clients; and __fish_seen_subcommand_from remove" -l url -d 'Talk to a remote daemon\'s admin API instead of the local socket (https://HOST[:PORT]; plain http only to a loopback address). Needs --token-file' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand clients; and __fish_seen_subcommand_from remove" -l token-file -d 'File holding the admin token for --url (see `twofoldctl admin-token new`)' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand clients; and __fish_seen_subcommand_from remove" -l yes -d 'Do not ask: remove'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand clients; and __fish_seen_subcommand_from remove" -l json -d 'Print one JSON document instead of tables (stable keys, for scripts)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand clients; and __fish_seen_subcommand_from remove" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand clients; and __fish_seen_subcommand_from remove" -s V -l version -d 'Print version'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand clients; and __fish_seen_subcommand_from help" -f -a "list" -d 'List the registered clients: those of the configuration file and those of the store'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand clients; and __fish_seen_subcommand_from help" -f -a "add" -d 'Register a client in the store'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand clients; and __fish_seen_subcommand_from help" -f -a "remove" -d 'Remove a client from the store and revoke its tokens (asks first unless --yes)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand clients; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand audit" -l user -d 'Only events about this user' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand audit" -l since -d 'Not before (2026-11-20, 2026-11-20T10:00:00Z, unix seconds, or 30m / 12h / 7d ago)' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand audit" -l until -d 'Not after (same forms as --since)' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand audit" -l type -d 'Only events whose type starts with this (`auth.`, `settings.change`, `user.reset`)' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand audit" -l limit -d 'At most this many, newest first' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand audit" -l socket -d 'The daemon\'s admin socket' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand audit" -l url -d 'Talk to a remote daemon\'s admin API instead of the local socket (https://HOST[:PORT]; plain http only to a loopback address). Needs --token-file' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand audit" -l token-file -d 'File holding the admin token for --url (see `twofoldctl admin-token new`)' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand audit" -l json -d 'Print one JSON document instead of tables (stable keys, for scripts)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand audit" -s h -l help -d 'Print help'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand audit" -s V -l version -d 'Print version'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand why" -l service -d 'Decide a hypothetical sign-in through this service (sshd, login, sudo, oidc:CLIENT)' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand why" -l rhost -d 'Decide a hypothetical sign-in from this remote address' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand why" -l role -d 'Roles (groups) of the hypothetical sign-in; repeat for several (default: the user\'s Unix groups from `id -Gn`, when the user exists on this host)' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand why" -l limit -d 'How many recent decisions to explain' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand why" -l socket -d 'The daemon\'s admin socket' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand why" -l url -d 'Talk to a remote daemon\'s admin API instead of the local socket (https://HOST[:PORT]; plain http only to a loopback address). Needs --token-file' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand why" -l token-file -d 'File holding the admin token for --url (see `twofoldctl admin-token new`)' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand why" -l json -d 'Print one JSON document instead of tables (stable keys, for scripts)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand why" -s h -l help -d 'Print help'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand why" -s V -l version -d 'Print version'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand doctor" -l sshd-config -d 'sshd configuration to check' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand doctor" -l sshd-mode -d 'How to learn sshd\'s effective settings: run `sshd -T` (falling back to reading the files), or only read the files' -r -f -a "auto\t'`sshd -T -f FILE` when sshd is installed and works, else read the files'
sshd-t\t'Only `sshd -T`; a failure to run it is reported'
files\t'Only read the files (sshd_config and its Include drop-ins)'"
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand doctor" -l sshd-bin -d 'The sshd binary for `sshd -T`' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand doctor" -l pam-dir -d 'PAM service directory' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand doctor" -l pam-service -d 'PAM services that must ask for the second factor (repeat; default sshd, login, sudo)' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand doctor" -l time-source -d 'Measure clock skew against this NTP/SNTP server (HOST:PORT, e.g. pool.ntp.org:123)' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand doctor" -l pending-threshold -d 'Warn when at least this many users are pending' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand doctor" -l socket -d 'The daemon\'s admin socket' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand doctor" -l url -d 'Talk to a remote daemon\'s admin API instead of the local socket (https://HOST[:PORT]; plain http only to a loopback address). Needs --token-file' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand doctor" -l token-file -d 'File holding the admin token for --url (see `twofoldctl admin-token new`)' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand doctor" -l ntp -d 'Check the system\'s NTP synchronisation status (timedatectl)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand doctor" -l daemon-only -d 'Skip the host checks (sshd, PAM, clock): check only the daemon and its settings'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand doctor" -l no-provider-check -d 'Do not contact the SMS provider and SMTP relay; report their last known health instead'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand doctor" -l json -d 'Print one JSON document instead of tables (stable keys, for scripts)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand doctor" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand doctor" -s V -l version -d 'Print version'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand admin-token" -l socket -d 'The daemon\'s admin socket' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand admin-token" -l url -d 'Talk to a remote daemon\'s admin API instead of the local socket (https://HOST[:PORT]; plain http only to a loopback address). Needs --token-file' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand admin-token" -l token-file -d 'File holding the admin token for --url (see `twofoldctl admin-token new`)' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand admin-token" -l json -d 'Print one JSON document instead of tables (stable keys, for scripts)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand admin-token" -s h -l help -d 'Print help'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand admin-token" -s V -l version -d 'Print version'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand completions" -l socket -d 'The daemon\'s admin socket' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand completions" -l url -d 'Talk to a remote daemon\'s admin API instead of the local socket (https://HOST[:PORT]; plain http only to a loopback address). Needs --token-file' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand completions" -l token-file -d 'File holding the admin token for --url (see `twofoldctl admin-token new`)' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand completions" -l json -d 'Print one JSON document instead of tables (stable keys, for scripts)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand completions" -s h -l help -d 'Print help'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand completions" -s V -l version -d 'Print version'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand gen-man" -l socket -d 'The daemon\'s admin socket' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand gen-man" -l url -d 'Talk to a remote daemon\'s admin API instead of the local socket (https://HOST[:PORT]; plain http only to a loopback address). Needs --token-file' -r
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand gen-man" -l token-file -d 'File holding the admin token for --url (see `twofoldctl admin-token new`)' -r -F
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand gen-man" -l json -d 'Print one JSON document instead of tables (stable keys, for scripts)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand gen-man" -s h -l help -d 'Print help'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand gen-man" -s V -l version -d 'Print version'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand help; and not __fish_seen_subcommand_from settings users integrations email delivery keys clients audit why doctor admin-token completions gen-man help" -f -a "settings" -d 'Show, change, export and import the settings'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand help; and not __fish_seen_subcommand_from settings users integrations email delivery keys clients audit why doctor admin-token completions gen-man help" -f -a "users" -d 'Users: list, overview, show, resets, unlock, backup codes, phone and email'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand help; and not __fish_seen_subcommand_from settings users integrations email delivery keys clients audit why doctor admin-token completions gen-man help" -f -a "integrations" -d 'Integrations (SMS providers, SMTP relays): add, show, list, select, check, test'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand help; and not __fish_seen_subcommand_from settings users integrations email delivery keys clients audit why doctor admin-token completions gen-man help" -f -a "email" -d 'Email sender: send a test email'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand help; and not __fish_seen_subcommand_from settings users integrations email delivery keys clients audit why doctor admin-token completions gen-man help" -f -a "delivery" -d 'Delivery of SMS and email codes: the delivery log'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand help; and not __fish_seen_subcommand_from settings users integrations email delivery keys clients audit why doctor admin-token completions gen-man help" -f -a "keys" -d 'ID-token signing keys of the OpenID Connect provider: list, rotate'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand help; and not __fish_seen_subcommand_from settings users integrations email delivery keys clients audit why doctor admin-token completions gen-man help" -f -a "clients" -d 'OpenID Connect clients (relying parties) registered in the store: list, add, remove'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand help; and not __fish_seen_subcommand_from settings users integrations email delivery keys clients audit why doctor admin-token completions gen-man help" -f -a "audit" -d 'Query the audit trail'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand help; and not __fish_seen_subcommand_from settings users integrations email delivery keys clients audit why doctor admin-token completions gen-man help" -f -a "why" -d 'Explain a user\'s last decisions, or a hypothetical sign-in, reason by reason'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand help; and not __fish_seen_subcommand_from settings users integrations email delivery keys clients audit why doctor admin-token completions gen-man help" -f -a "doctor" -d 'Check the whole setup against the support guide\'s symptoms; name each cause and its fix'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand help; and not __fish_seen_subcommand_from settings users integrations email delivery keys clients audit why doctor admin-token completions gen-man help" -f -a "admin-token" -d 'Create a token for the remote admin API: prints the token (keep it in a 0600 file) and the `[admin] api_tokens` entry for twofoldd.toml. Talks to no daemon'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand help; and not __fish_seen_subcommand_from settings users integrations email delivery keys clients audit why doctor admin-token completions gen-man help" -f -a "completions" -d 'Print a shell completion script'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand help; and not __fish_seen_subcommand_from settings users integrations email delivery keys clients audit why doctor admin-token completions gen-man help" -f -a "gen-man" -d 'Write the man pages (twofoldctl.1 and one per subcommand) into DIR'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand help; and not __fish_seen_subcommand_from settings users integrations email delivery keys clients audit why doctor admin-token completions gen-man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand help; and __fish_seen_subcommand_from settings" -f -a "show" -d 'Show every setting, marking those at their default'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand help; and __fish_seen_subcommand_from settings" -f -a "set" -d 'Change settings: `set KEY VALUE [KEY VALUE]...` or `set KEY=VALUE...`, validated as a whole'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand help; and __fish_seen_subcommand_from settings" -f -a "export" -d 'Print the settings as TOML'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand help; and __fish_seen_subcommand_from settings" -f -a "import" -d 'Replace the settings with a TOML file (validated as a whole; missing keys take defaults)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand help; and __fish_seen_subcommand_from users" -f -a "list" -d 'List users with their enrollment status and methods'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand help; and __fish_seen_subcommand_from users" -f -a "overview" -d 'Counts per state: not enrolled, pending, enrolled, locked (the Overview tab)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand help; and __fish_seen_subcommand_from users" -f -a "show" -d 'One user: status, methods, default method, phone and email (masked), backup codes left, last sign-ins'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand help; and __fish_seen_subcommand_from users" -f -a "reset" -d 'Reset a user\'s enrollment: deletes the secret and backup codes; they enroll again at the next sign-in'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand help; and __fish_seen_subcommand_from users" -f -a "reset-pending" -d 'Reset every user in the pending state at once (needs --yes)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand help; and __fish_seen_subcommand_from users" -f -a "unlock" -d 'Clear a user\'s lock after too many consecutive failed codes'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand help; and __fish_seen_subcommand_from users" -f -a "backup-codes" -d 'Regenerate a user\'s backup codes (shown once; the old ones stop working)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand help; and __fish_seen_subcommand_from users" -f -a "remind-pending" -d 'Email every pending user a reminder with the manual-entry instructions'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand help; and __fish_seen_subcommand_from users" -f -a "set-phone" -d 'Set a user\'s phone number (international format with country code, e.g. +14155550123)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand help; and __fish_seen_subcommand_from users" -f -a "set-email" -d 'Set a user\'s email address'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand help; and __fish_seen_subcommand_from users" -f -a "set-default-method" -d 'Set a user\'s own default method (authenticator_app, sms, email)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand help; and __fish_seen_subcommand_from integrations" -f -a "add" -d 'Add (or replace) an SMS provider integration'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand help; and __fish_seen_subcommand_from integrations" -f -a "show" -d 'Show one integration (credentials redacted) with its health'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand help; and __fish_seen_subcommand_from integrations" -f -a "list" -d 'List integrations'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand help; and __fish_seen_subcommand_from integrations" -f -a "use-for-sms" -d 'Select this integration as the SMS provider'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand help; and __fish_seen_subcommand_from integrations" -f -a "check" -d 'Check an integration\'s credentials against the provider'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand help; and __fish_seen_subcommand_from integrations" -f -a "test-sms" -d 'Send a test SMS through the selected (or named) integration'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand help; and __fish_seen_subcommand_from email" -f -a "test" -d 'Send a test email through the configured sender'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand help; and __fish_seen_subcommand_from delivery" -f -a "log" -d 'The delivery log: every send attempt with its outcome'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand help; and __fish_seen_subcommand_from delivery" -f -a "counts" -d 'Messages per integration and day (queued, sent, failed, provider calls): what the SMS bill is made of'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand help; and __fish_seen_subcommand_from keys" -f -a "list" -d 'List the ID-token signing keys and what each does now'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand help; and __fish_seen_subcommand_from keys" -f -a "rotate" -d 'Rotate the signing keys now (asks first unless --yes)'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand help; and __fish_seen_subcommand_from clients" -f -a "list" -d 'List the registered clients: those of the configuration file and those of the store'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand help; and __fish_seen_subcommand_from clients" -f -a "add" -d 'Register a client in the store'
complete -c twofoldctl -n "__fish_twofoldctl_using_subcommand help; and __fish_seen_subcommand_from clients" -f -a "remove" -d 'Remove a client from the store and revoke its tokens (asks first unless --yes)'
