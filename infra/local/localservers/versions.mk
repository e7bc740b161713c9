# The pinned versions of the local stand-ins for AWS and Stripe, and of the
# linter: the one place they are written. The Makefile includes this file
# (`make tools` installs exactly these into .tools/) and infra/local/localservers
# embeds it (the tests look for exactly these), so they cannot drift.
# Format: NAME := value, one per line.
DYNAMODB_SIMULATOR_VERSION := 2.9.30
STRIPE_MOCK_VERSION        := v0.203.0
SES_LOCAL_VERSION          := 2.10.2
LAMBDA_RIE_VERSION         := v0.0.0-20261030222936-bef5c4ba774d
GOLANGCI_LINT_VERSION      := v2.15.0
# Python, for the template: AWS's SAM translator (make test checks the
# template as it translates it) and cfn-lint (make lint).
AWS_SAM_TRANSLATOR_VERSION := 1.110.0
CFN_LINT_VERSION           := 1.51.0
# moto's server (SQS), a Python package: the Makefile checks python3 imports
# exactly this version and pip installs moto[server] at it where missing.
MOTO_VERSION               := 5.2.1
