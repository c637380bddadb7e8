"""Loads the harness: session fixtures, then the steps of each domain."""

pytest_plugins = [
    "fixtures.plugin",
    "fixtures.report_hooks",
    "fixtures.sections.plugin",
    "fixtures.living_guide.plugin",
    "steps.common",
    "steps.requirements_steps",
    "steps.tls_steps",
    "steps.env_steps",
    "steps.compose_steps",
    "steps.stack_steps",
    "steps.database_steps",
    "steps.s3_steps",
    "steps.mail_steps",
    "steps.organization_steps",
    "steps.proxy_steps",
]
