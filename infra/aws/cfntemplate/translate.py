"""Translate a SAM template as CloudFormation's AWS::Serverless-2016-10-31
transform does, with AWS's own aws-sam-translator (the library behind the
transform), and print the CloudFormation template as JSON.

    python3 translate.py TEMPLATE|- [--param Name=Value ...] [--region R]

sam deploy uploads each function's code to S3 and hands CloudFormation the
template with S3 URIs; CloudFormation runs the transform with the stack's
parameter values. A fixed S3 URI and --param stand for those. No AWS call
is made: SAM policy templates and managed policy names would need IAM's
list of policies, and the template uses neither (such a name fails here).
"""

import argparse
import json
import logging
import os
import sys

from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator
from samtranslator.yaml_helper import yaml_parse

CODE_URI = "s3://clinicpay-artifacts/clinicpay/0123456789abcdef"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("template")
    ap.add_argument("--param", action="append", default=[])
    ap.add_argument("--region", default="ca-central-1")
    args = ap.parse_args()

    # The translator logs feature-toggle notes at WARNING; only its errors
    # matter here, and they are raised.
    logging.getLogger("samtranslator").setLevel(logging.ERROR)
    # The ARNs SAM writes (the execution role's managed policy) are built
    # for this region's partition.
    os.environ["AWS_DEFAULT_REGION"] = args.region
    text = sys.stdin.read() if args.template == "-" else open(args.template, encoding="utf-8").read()
    sam = yaml_parse(text)
    for res in sam.get("Resources", {}).values():
        if res.get("Type") == "AWS::Serverless::Function":
            res.setdefault("Properties", {})["CodeUri"] = CODE_URI
    params = dict(p.partition("=")[::2] for p in args.param)

    translator = Translator(managed_policy_map=None, sam_parser=Parser())
    try:
        cfn = translator.translate(sam, parameter_values=params, get_managed_policy_map=lambda: {})
    except InvalidDocumentException as e:
        for cause in e.causes:
            print("aws-sam-translator: " + cause.message, file=sys.stderr)
        sys.exit(1)
    json.dump(cfn, sys.stdout, separators=(",", ":"))


if __name__ == "__main__":
    main()
