"""Prepares a running moto server (moto_server) for weir's S3 tests.

Creates the bucket "test" and an IAM user allowed s3:* with one access key,
then switches on moto's authentication (POST /moto-api/reset-auth with 0:
from then on every request needs a known access key, a valid SigV4
signature and a policy that allows the action). Prints "<key> <secret>".

moto accepts any credentials until its authentication is on, so the setup
runs first, unauthenticated, and the tests then see a server that rejects
unknown keys (InvalidAccessKeyId) and bad signatures (SignatureDoesNotMatch)
like AWS does.

Usage: python moto_s3_setup.py http://127.0.0.1:<port>
"""
import json
import sys
import urllib.request

import boto3

url = sys.argv[1]
kw = dict(endpoint_url=url, region_name="us-east-1",
          aws_access_key_id="setup", aws_secret_access_key="setup")
iam = boto3.client("iam", **kw)
s3 = boto3.client("s3", **kw)

iam.create_user(UserName="weir-test")
iam.put_user_policy(
    UserName="weir-test", PolicyName="s3-all",
    PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}],
    }))
key = iam.create_access_key(UserName="weir-test")["AccessKey"]
s3.create_bucket(Bucket="test")

# Not a form (urllib's default type): Flask would consume the body.
req = urllib.request.Request(url + "/moto-api/reset-auth", data=b"0",
                             method="POST",
                             headers={"Content-Type": "text/plain"})
with urllib.request.urlopen(req) as r:
    if r.status != 200:
        sys.exit(f"moto did not switch its authentication on: {r.status}")
print(key["AccessKeyId"], key["SecretAccessKey"])
