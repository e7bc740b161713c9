# Clinic invoice payments. `make dev` runs the whole service locally, `make
# test` runs every test; both install the pinned local servers on first use
# into .tools/ (git-ignored). SAM builds each function with the
# build-<LogicalId> targets below.

SHELL := /bin/bash
.DEFAULT_GOAL := help

# Pinned versions of the local stand-ins for AWS and Stripe and of the
# linter (errcheck, staticcheck: .golangci.yml), written once, in the file
# infra/local/localservers reads too.
include infra/local/localservers/versions.mk

TOOLS      := $(CURDIR)/.tools
TOOLS_BIN  := $(TOOLS)/bin
DYNAMODB   := $(TOOLS)/dynamodb-$(DYNAMODB_SIMULATOR_VERSION)/DynamoDBLocal.jar
STRIPE_MOCK := $(TOOLS_BIN)/stripe-mock-$(STRIPE_MOCK_VERSION)
SES_LOCAL  := $(TOOLS)/ses-$(SES_LOCAL_VERSION)/node_modules/aws-ses-v2-local/dist/cli.js
LAMBDA_RIE := $(TOOLS_BIN)/aws-lambda-rie-$(LAMBDA_RIE_VERSION)
LOOPBACK   := $(TOOLS)/lib/loopback.so
GOLANGCI_LINT := $(TOOLS_BIN)/golangci-lint-$(GOLANGCI_LINT_VERSION)

export CLINICPAY_TOOLS := $(TOOLS)

# Lambda build: arm64 for AWS; `make build-X GOARCH=amd64` to run on this machine.
# Reproducible: the same source gives the same bytes (no VCS stamp, no
# paths, no build id), so a function whose code did not change keeps its
# code hash and is not redeployed, and a checkout owned by another user
# (CI containers) builds without git's "dubious ownership" stop.
# nethttpomithttp2 leaves net/http's HTTP/2 out (0.31 MiB a bootstrap):
# the AWS APIs we call and Lambda's runtime API take HTTP/1.1 (DynamoDB
# offers nothing else), and stripe-go turns HTTP/2 off by default
# (golang/go#32441: a request body lost on a GOAWAY).
# The AWS SDK's code is not inlined (0.2 MiB a bootstrap): it builds and
# reads one request per network call, where the nanoseconds inlining
# saves are lost in the round trip.
GOARCH ?= arm64
LAMBDA_GCFLAGS = -gcflags='github.com/aws/aws-sdk-go-v2/...=-l'
LAMBDA_BUILD = CGO_ENABLED=0 GOOS=linux GOARCH=$(GOARCH) go build -buildvcs=false -tags lambda.norpc,nethttpomithttp2 $(LAMBDA_GCFLAGS) -trimpath -ldflags="-s -w -buildid=" -o $(ARTIFACTS_DIR)/bootstrap
ARTIFACTS_DIR ?= $(CURDIR)/.build/$@

.PHONY: help
help:
	@echo "make dev [RESET=1]   the whole service locally: API :3000, staff console :3001, mail :3002 (data kept in .dev/; RESET=1 starts empty)"
	@echo "make pay INVOICE=<id> [OUTCOME=paid|processing|failed|declined|refund[:<cents>]|dispute:<open|won|lost>]   a payment at make dev's local Stripe"
	@echo "make pay READER=tmr_… [CARD=4242424242424242|interac|4000000000000002|4000000000009995|cancel] [STATUS=offline|online]   a test card at a reader of make dev's local Stripe"
	@echo "make test    run every test (unit and integration against the local servers)"
	@echo "make load    60 s of mixed traffic (LOAD_FLAGS=...), then every invariant checked"
	@echo "make load BURST=1000   a webhook burst: 1000 payments at 32 deliveries, for 1 tenant and over 30, 3 rounds each; 503s, time, feed checked"
	@echo "make fuzz    each fuzz target for FUZZTIME (30s)"
	@echo "make bench   sizes, cold start vs hello world, RSS, warm latency; prints them and writes docs/performance.md"
	@echo "make scale [N=20000] [K=4]   N due reminders over 200 clinics: planned, then worked by K workers; prints docs/performance.md's figures"
	@echo "make smoke API=… TOKEN=… ADMIN_TOKEN=… [EMAIL=…] [ORIGIN=…]   the core flow against a running API (Stripe test mode), and with ORIGIN a CORS preflight from the front end's origin"
	@echo "make token COMPANY=<id> [SCOPE=billing:admin]   print a local bearer token"
	@echo "make build   build every function's bootstrap (linux/$(GOARCH)) into .build/"
	@echo "make deploy ENV=dev|prod [CONFIRM=no]   sam build && sam deploy with samconfig.toml's environment (docs/deploy.md)"
	@echo "make lint    golangci-lint (errcheck, staticcheck), as make test runs it"
	@echo "make tools   install the pinned local servers and the linter into .tools/"
	@echo "make pdf-samples   sample invoice PDFs and PNGs of their pages into .build/pdf/"

# ---- tools -----------------------------------------------------------------

.PHONY: tools java poppler chromium python-tools moto
tools: java $(DYNAMODB) $(STRIPE_MOCK) $(SES_LOCAL) $(LAMBDA_RIE) $(GOLANGCI_LINT) loopback python-tools moto

# AWS's SAM translator (make test checks template.yaml as it translates
# it: infra/aws/cfntemplate) and cfn-lint (make lint), for python3, at the
# pinned versions; pip installs them where they are missing or another
# version.
PYTHON ?= python3
python-tools:
	@$(PYTHON) -c 'import sys, samtranslator, cfnlint.version as c; sys.exit(samtranslator.__version__ != "$(AWS_SAM_TRANSLATOR_VERSION)" or c.__version__ != "$(CFN_LINT_VERSION)")' 2>/dev/null || { \
	  echo "installing aws-sam-translator $(AWS_SAM_TRANSLATOR_VERSION) and cfn-lint $(CFN_LINT_VERSION) for $(PYTHON) (pip)"; \
	  $(PYTHON) -m pip install --quiet "aws-sam-translator==$(AWS_SAM_TRANSLATOR_VERSION)" "cfn-lint==$(CFN_LINT_VERSION)"; }

java:
	@command -v java >/dev/null 2>&1 || { \
	  echo "Java is missing (DynamoDB Local needs it); installing default-jre-headless"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq default-jre-headless >/dev/null; }

# SQS locally: moto's server, a Python package (this machine's image ships
# it for python3); installed with pip at the pinned version where python3
# does not import exactly that version.
moto:
	@python3 -c 'import sys, moto, flask; sys.exit(moto.__version__ != "$(MOTO_VERSION)")' 2>/dev/null || { \
	  echo "moto[server] $(MOTO_VERSION) is missing (the local SQS); installing it with pip"; \
	  python3 -m pip install --quiet "moto[server]==$(MOTO_VERSION)"; }

# The invoice PDF tests read the PDFs back with poppler-utils (pdftotext,
# pdfinfo); its pdftoppm draws them as PNG.
poppler:
	@command -v pdftotext >/dev/null 2>&1 && command -v pdfinfo >/dev/null 2>&1 && command -v pdftoppm >/dev/null 2>&1 || { \
	  echo "pdftotext/pdfinfo/pdftoppm are missing (the invoice PDF tests need them); installing poppler-utils"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq poppler-utils >/dev/null; }

# The console's browser test drives Debian's Chromium.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "chromium is missing (the console's browser test needs it); installing it"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

$(DYNAMODB):
	@mkdir -p $(TOOLS)/tmp && cd $(TOOLS)/tmp && \
	  npm pack --silent amplify-dynamodb-simulator@$(DYNAMODB_SIMULATOR_VERSION) >/dev/null && \
	  tar xzf amplify-dynamodb-simulator-$(DYNAMODB_SIMULATOR_VERSION).tgz && \
	  rm -rf $(dir $@) && mv package/emulator $(dir $@) && rm -rf $(TOOLS)/tmp
	@echo "installed DynamoDB Local (amplify-dynamodb-simulator@$(DYNAMODB_SIMULATOR_VERSION))"

$(STRIPE_MOCK):
	@mkdir -p $(TOOLS_BIN) $(TOOLS)/gobin
	GOBIN=$(TOOLS)/gobin GOFLAGS= go install github.com/stripe/stripe-mock@$(STRIPE_MOCK_VERSION)
	@mv $(TOOLS)/gobin/stripe-mock $@

$(SES_LOCAL):
	@mkdir -p $(TOOLS)/ses-$(SES_LOCAL_VERSION)
	cd $(TOOLS)/ses-$(SES_LOCAL_VERSION) && echo '{"private":true}' > package.json && \
	  npm install --silent --no-audit --no-fund aws-ses-v2-local@$(SES_LOCAL_VERSION)

# DynamoDB Local can't be told which address to listen on; this preloaded
# shim keeps it on 127.0.0.1 (without a C compiler it listens on all
# interfaces, on a random port, and make dev says so).
.PHONY: loopback
loopback: $(LOOPBACK)
$(LOOPBACK): infra/local/loopback/loopback.c
	@mkdir -p $(dir $@)
	@if command -v cc >/dev/null 2>&1; then cc -shared -fPIC -O2 -o $@ $< -ldl; \
	  else echo "no C compiler: DynamoDB Local will listen on every interface"; fi

$(LAMBDA_RIE):
	@mkdir -p $(TOOLS_BIN) $(TOOLS)/gobin
	GOBIN=$(TOOLS)/gobin GOFLAGS= go install github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@$(LAMBDA_RIE_VERSION)
	@mv $(TOOLS)/gobin/aws-lambda-rie $@

# Built from source with the Go toolchain, like stripe-mock (no install
# script); a private GOBIN so concurrent installs don't collide.
$(GOLANGCI_LINT):
	@mkdir -p $(TOOLS_BIN)
	@gobin=$$(mktemp -d $(TOOLS)/gobin-lint.XXXXXX) && \
	  GOBIN=$$gobin GOFLAGS= go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION) && \
	  mv $$gobin/golangci-lint $@ && rm -rf $$gobin

# ---- everyday --------------------------------------------------------------

.PHONY: dev pay test token vet lint pdf-samples
# PORT, CONSOLE_PORT, MAIL_PORT, RESET=1, CORS_ALLOWED_ORIGINS, DEV_DATA: see
# the README.
# Built, then run: `go run` exits 1 on Ctrl-C whatever the program does, so
# make would end with "Error 1" after a clean stop.
dev: tools
	@go build -o .build/dev ./cmd/dev
	@./.build/dev

pay:
	@go run ./cmd/pay -invoice "$(INVOICE)" -outcome "$(or $(OUTCOME),paid)" -company "$(COMPANY)" -in "$(IN)" \
		-reader "$(READER)" -card "$(CARD)" -status "$(STATUS)"

test: tools poppler chromium vet lint
	go test -count=1 -timeout 20m -parallel 16 ./...

vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './.tools/*')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	go vet ./...

# errcheck and staticcheck (.golangci.yml): no error of a store, Stripe or
# SES call is dropped, not even with `_ =`. cfn-lint: the templates with
# no error and no warning.
CFN_LINT = $(PYTHON) -c 'import sys; from cfnlint.runner import main; sys.argv[0] = "cfn-lint"; sys.exit(main())'
lint: $(GOLANGCI_LINT) python-tools
	$(GOLANGCI_LINT) run ./...
	$(CFN_LINT) template.yaml docs/cognito.yaml docs/restore-table.yaml

# Fuzz targets (package:target). Their seed corpora live in testdata/fuzz and
# run with every `go test`; `make fuzz` explores for FUZZTIME each, and
# `make test` runs each for a few seconds as a regression.
FUZZ_TARGETS := \
	./internal/httpapi:FuzzRequestDecoding \
	./internal/httpapi:FuzzClaims \
	./infra/local/localapi:FuzzVerifyToken \
	./internal/stripegateway:FuzzWebhookRead \
	./internal/sesevents:FuzzRead \
	./internal/sesmailer:FuzzBuildMIME \
	./internal/sesmailer:FuzzBuildMIMEAttachments \
	./internal/emails:FuzzInvoiceEmail \
	./internal/emails:FuzzReceiptEmail \
	./internal/emails:FuzzReminderEmail
FUZZTIME ?= 30s
.PHONY: fuzz
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; name=$${t##*:}; \
	  echo "fuzz $$name ($$pkg) for $(FUZZTIME)"; \
	  go test -run='^$$' -fuzz="^$$name\$$" -fuzztime=$(FUZZTIME) $$pkg 2>&1 | grep -E 'elapsed: .*execs|^(ok|FAIL|---)|Failing input|fuzz_test' | tail -3; \
	  test $${PIPESTATUS[0]} -eq 0; \
	done
	@# The invoice model talks to the whole local stack, longer than the 10 s
	@# go test -fuzz gives an input: rapid explores it for FUZZTIME instead.
	@echo "explore the invoice model (./infra/test/e2e) for $(FUZZTIME)"
	@go test -count=1 -run '^TestInvoiceModelExplore$$' -timeout 30m ./infra/test/e2e -args -model.for=$(FUZZTIME) 2>&1 | grep -E '^(ok|FAIL|---)|saved as' | tail -3; \
	  test $${PIPESTATUS[0]} -eq 0

# Sizes, cold starts against hello world, peak RSS, warm latency (own vs
# upstream) and upstream calls per operation; prints the report and writes
# it into docs/performance.md, between its markers.
BENCH_FLAGS ?= -starts 25 -requests 300
.PHONY: bench
bench: tools
	go run ./cmd/bench -write $(CURDIR)/docs/performance.md $(BENCH_FLAGS)

# Mixed traffic against a private local stack, then every invariant checked.
# With BURST=<n>, a webhook burst instead: n payment events delivered at once
# for one tenant and spread over 30, three rounds each (medians), each feed
# read back entry by entry.
ifneq ($(BURST),)
LOAD_FLAGS ?= -burst $(BURST) -burst-tenants 1,30 -burst-rounds 3 -workers 32
endif
LOAD_FLAGS ?= -duration 60s -workers 32 -tenants 5 -invoices 50
.PHONY: load
load: tools
	go run ./cmd/load $(LOAD_FLAGS)

# The scheduler at a platform's volume: N invoices with a reminder due over
# 200 clinics, straight into DynamoDB Local, planned, then worked by K
# workers (the handlers in process); prints the figures of docs/performance.md's Scale.
N ?= 20000
K ?= 4
.PHONY: scale
scale: tools
	go run ./cmd/scale -n $(N) -workers $(K)

# Sample invoice PDFs and PNGs of their pages, into the git-ignored .build/pdf/,
# to look at the layout.
pdf-samples: poppler
	go test -count=1 -run '^TestSamples$$' ./internal/invoicepdf -args -samples $(CURDIR)/.build/pdf
	@ls $(CURDIR)/.build/pdf

# The core flow against a running API, in Stripe test mode: a deployed
# stack (docs/deploy.md) or make dev. The tokens reach the command through
# the environment, not its arguments.
.PHONY: smoke
smoke: export SMOKE_TOKEN = $(TOKEN)
smoke: export SMOKE_ADMIN_TOKEN = $(ADMIN_TOKEN)
smoke:
	@if [ -z "$(API)" ] || [ -z "$(TOKEN)" ] || [ -z "$(ADMIN_TOKEN)" ]; then \
	  echo "usage: make smoke API=https://… TOKEN=<staff token> ADMIN_TOKEN=<billing:admin token> [EMAIL=…] [ORIGIN=https://<front end>]"; exit 2; fi
	@go run ./cmd/smoke -api "$(API)" $(if $(EMAIL),-email "$(EMAIL)") $(if $(ORIGIN),-origin "$(ORIGIN)")

COMPANY ?= clinic-demo
SCOPE ?=
token:
	@go run ./cmd/token -company "$(COMPANY)" -scope "$(SCOPE)"

# ---- Lambda builds (SAM BuildMethod: makefile) -------------------------------

FUNCTIONS := \
	PutBillingCompanyFunction:put-billing-company \
	GetBillingCompanyFunction:get-billing-company \
	StartStripeOnboardingFunction:start-stripe-onboarding \
	PutInvoiceFunction:put-invoice \
	GetInvoiceFunction:get-invoice \
	ListInvoicesFunction:list-invoices \
	CreatePaymentLinkFunction:create-payment-link \
	RegeneratePaymentLinkFunction:regenerate-payment-link \
	RemovePaymentLinkFunction:remove-payment-link \
	StartReaderPaymentFunction:start-reader-payment \
	CancelReaderPaymentFunction:cancel-reader-payment \
	StartReaderRefundFunction:start-reader-refund \
	SendInvoiceEmailFunction:send-invoice-email \
	PutInvoiceRemindersFunction:put-invoice-reminders \
	SendRemindersFunction:send-reminders \
	ScheduledWorkFunction:scheduled-work \
	EmailEventsFunction:email-events \
	ListPaymentsFunction:list-payments \
	RegisterReaderFunction:register-reader \
	ListReadersFunction:list-readers \
	DeleteReaderFunction:delete-reader \
	StripeWebhookFunction:stripe-webhook \
	PreTrafficHookFunction:pre-traffic-hook

define lambda_target
.PHONY: build-$(word 1,$(subst :, ,$(1)))
build-$(word 1,$(subst :, ,$(1))):
	$$(LAMBDA_BUILD) ./functions/$(word 2,$(subst :, ,$(1)))
endef
$(foreach f,$(FUNCTIONS),$(eval $(call lambda_target,$(f))))

.PHONY: build
build: $(foreach f,$(FUNCTIONS),build-$(word 1,$(subst :, ,$(f))))

# Deploy: sam build && sam deploy with samconfig.toml's environment
# (docs/deploy.md). prod asks before it applies the changeset; a pipeline
# says CONFIRM=no (sam deploy --no-confirm-changeset).
ENV ?= dev
CONFIRM ?=
.PHONY: deploy
deploy:
	@command -v sam >/dev/null || { echo "the AWS SAM CLI is needed: https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/install-sam-cli.html"; exit 1; }
	@# The wrong-account guard, before building (the template's rule
	@# RightAccount stops sam deploy itself too).
	@want=$$(sed -n '/^\[$(ENV)\.deploy\.parameters\]/,/^\[/p' samconfig.toml | grep -o '"AccountId=[0-9]*"' | tr -dc 0-9); \
	  got=$$(aws sts get-caller-identity --query Account --output text) || exit 1; \
	  if [ "$$want" != "$$got" ]; then echo "make deploy ENV=$(ENV): samconfig.toml says account $$want, these credentials are account $$got"; exit 1; fi
	sam build --config-env $(ENV)
	sam deploy --config-env $(ENV)$(if $(filter no,$(CONFIRM)), --no-confirm-changeset)

.PHONY: clean
clean:
	rm -rf .build .aws-sam
