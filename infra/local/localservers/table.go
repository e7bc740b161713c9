package localservers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/clinicpay/payments/infra/aws/samtemplate"
)

// CreateTable creates the table the template defines (logical id "Table")
// under name, with its TTL, and waits until it is active.
func CreateTable(ctx context.Context, db *dynamodb.Client, name string) error {
	tpl, err := samtemplate.LoadFromRepo()
	if err != nil {
		return err
	}
	in, ttl, err := tpl.CreateTableInput("Table", name)
	if err != nil {
		return err
	}
	existed := false
	if _, err := db.CreateTable(ctx, in); err != nil {
		var exists *ddbtypes.ResourceInUseException
		if !errors.As(err, &exists) {
			return fmt.Errorf("create table %s: %w", name, err)
		}
		existed = true
	}
	if err := dynamodb.NewTableExistsWaiter(db).Wait(ctx, &dynamodb.DescribeTableInput{TableName: &name}, 30*time.Second); err != nil {
		return fmt.Errorf("wait for table %s: %w", name, err)
	}
	if existed {
		// A table kept by make dev from an older template: add the indexes
		// the template has since gained, as a deployment would.
		if err := addMissingIndexes(ctx, db, in); err != nil {
			return err
		}
	}
	if ttl != "" && existed {
		d, err := db.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: &name})
		if err == nil && d.TimeToLiveDescription != nil && d.TimeToLiveDescription.TimeToLiveStatus == ddbtypes.TimeToLiveStatusEnabled {
			ttl = "" // already on (a table kept by make dev)
		}
	}
	if ttl != "" {
		_, err := db.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
			TableName:               &name,
			TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{AttributeName: aws.String(ttl), Enabled: aws.Bool(true)},
		})
		if err != nil {
			return fmt.Errorf("enable TTL on %s: %w", name, err)
		}
	}
	return nil
}

// addMissingIndexes creates the template's global secondary indexes that
// the existing table lacks, one at a time (DynamoDB takes one per update),
// and waits until each is active.
func addMissingIndexes(ctx context.Context, db *dynamodb.Client, in *dynamodb.CreateTableInput) error {
	out, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: in.TableName})
	if err != nil {
		return fmt.Errorf("describe table %s: %w", *in.TableName, err)
	}
	have := map[string]bool{}
	for _, g := range out.Table.GlobalSecondaryIndexes {
		have[aws.ToString(g.IndexName)] = true
	}
	for _, g := range in.GlobalSecondaryIndexes {
		if have[aws.ToString(g.IndexName)] {
			continue
		}
		_, err := db.UpdateTable(ctx, &dynamodb.UpdateTableInput{
			TableName:            in.TableName,
			AttributeDefinitions: in.AttributeDefinitions,
			GlobalSecondaryIndexUpdates: []ddbtypes.GlobalSecondaryIndexUpdate{{Create: &ddbtypes.CreateGlobalSecondaryIndexAction{
				IndexName: g.IndexName, KeySchema: g.KeySchema, Projection: g.Projection, ProvisionedThroughput: g.ProvisionedThroughput,
			}}},
		})
		if err != nil {
			return fmt.Errorf("add index %s to %s: %w", aws.ToString(g.IndexName), *in.TableName, err)
		}
		for {
			d, err := db.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: in.TableName})
			if err != nil {
				return err
			}
			active := false
			for _, x := range d.Table.GlobalSecondaryIndexes {
				if aws.ToString(x.IndexName) == aws.ToString(g.IndexName) && x.IndexStatus == ddbtypes.IndexStatusActive {
					active = true
				}
			}
			if active {
				break
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	return nil
}
