-- Clerk Billing questions, over the tables `IMPORT FOREIGN SCHEMA clerk
-- FROM SERVER ... INTO clerk` creates. Amounts are Clerk's integer cents
-- (bigint, or numeric if you declare them so), never floating point.

-- Monthly recurring revenue by plan and payer type: items that are active
-- or past due, out of their free trial, on a plan with a fee; an annual
-- plan counts its monthly share. One scan of the subscription items (free
-- plans included: clerk_fdw asks with include_free=true) and one of plans.
create view mrr_by_plan as
select p.slug as plan,
       p.for_payer_type as payer_type,
       count(*) as subscriptions,
       sum(case i.plan_period when 'annual' then p.annual_monthly_fee_amount
                              else p.fee_amount end) as mrr_cents,
       round(sum(case i.plan_period when 'annual' then p.annual_monthly_fee_amount
                                    else p.fee_amount end) / 100.0, 2) as mrr
from clerk.billing_subscription_items i
join clerk.billing_plans p on p.id = i.plan_id
where i.status in ('active', 'past_due') and not i.is_free_trial and p.has_base_fee
group by 1, 2;

-- Active, past-due and free-trial subscription items per plan.
create view subscription_health as
select plan_slug as plan,
       count(*) filter (where status = 'active' and not is_free_trial) as active,
       count(*) filter (where status = 'past_due') as past_due,
       count(*) filter (where status = 'active' and is_free_trial) as free_trial
from clerk.billing_subscription_items
group by 1;

-- Trials that converted, per month: a payer whose free trial ended and who
-- then paid for the same plan. The trial side asks Clerk for status=ended.
create view trial_conversions_per_month as
select date_trunc('month', paid.created_at) as month, count(*) as conversions
from clerk.billing_subscription_items trial
join clerk.billing_subscription_items paid
  on paid.payer_id = trial.payer_id
 and paid.plan_id = trial.plan_id
 and not paid.is_free_trial
 and paid.created_at >= trial.ended_at
where trial.status = 'ended' and trial.is_free_trial
group by 1;

-- Organizations without a paid plan, largest first: no active or past-due
-- item with a fee.
create view organizations_without_paid_plan as
select o.id, o.name, o.members_count
from clerk.organizations o
where not exists (
  select from clerk.billing_subscription_items i
  where i.organization_id = o.id
    and i.fee_amount > 0
    and i.status in ('active', 'past_due'));

-- Open statements with their failed payment attempts: each statement's
-- attempts are one request to /billing/statements/{id}/payment_attempts.
create view failed_payments as
select s.id as statement_id, s.organization_id, s.user_id,
       s.grand_total_amount, s.currency, a.failed_at
from clerk.billing_statements s
join clerk.billing_payment_attempts a on a.statement_id = s.id
where s.status = 'open' and a.status = 'failed';
