// Alerts that page, and a workbook to look at: Event Grid's delivery metrics on the ACS
// system topic, the archive's own metrics in Application Insights (archiver/telemetry),
// threads altered since their last seal, jobs given up on (poisoned), and the Function
// App's failures. Every alert goes to one action group, which mails `alertEmail` (none
// when it is empty: add receivers in the portal).

@description('Region of the log alerts and the workbook.')
param location string

@description('Tags for every resource.')
param tags object

@description('Where alerts are mailed. Empty: the action group has no receiver yet.')
param alertEmail string = ''

@description('Resource id of the Event Grid system topic on the ACS resource.')
param systemTopicId string

@description('Resource id of the Application Insights component the app sends to.')
param appInsightsId string

@description('Failed delivery attempts within 30 minutes that page: a few are retried and harmless, a steady stream means storage is failing or throttled.')
@minValue(1)
param deliveryFailuresIn30Minutes int = 10

@description('Archive lag (archive time minus event time), 95th percentile over 15 minutes, in seconds, above which to page.')
@minValue(1)
param lagP95Seconds int = 300

resource pager 'Microsoft.Insights/actionGroups@2023-01-01' = {
  name: 'ag-chat-archive'
  location: 'global'
  tags: tags
  properties: {
    groupShortName: 'chatarchive'
    enabled: true
    emailReceivers: empty(alertEmail) ? [] : [
      {
        name: 'operator'
        emailAddress: alertEmail
        useCommonAlertSchema: true
      }
    ]
  }
}

// Event Grid's own counts, per system topic (docs: Operations, What to watch).
var topicAlerts = [
  {
    name: 'dead-lettered'
    metric: 'DeadLetteredCount'
    threshold: 0
    window: 'PT5M'
    severity: 1
    description: 'Event Grid dead-lettered chat events: they wait in the dead-letter container, where replay_dead_letter replays them; look at why (deadLetterReason).'
  }
  {
    name: 'dropped'
    metric: 'DroppedEventCount'
    threshold: 0
    window: 'PT5M'
    severity: 0
    description: 'Event Grid dropped chat events: they are lost to the archive. The dead-letter destination was unreachable.'
  }
  {
    name: 'delivery-failing'
    metric: 'DeliveryAttemptFailCount'
    threshold: deliveryFailuresIn30Minutes
    window: 'PT30M'
    severity: 2
    description: 'Deliveries to the archiver keep failing (5xx or no answer): storage is failing or throttled. Event Grid retries for 24 hours.'
  }
]

resource topicAlert 'Microsoft.Insights/metricAlerts@2018-03-01' = [for alert in topicAlerts: {
  name: 'chat-archive-${alert.name}'
  location: 'global'
  tags: tags
  properties: {
    description: alert.description
    severity: alert.severity
    enabled: true
    scopes: [systemTopicId]
    evaluationFrequency: 'PT5M'
    windowSize: alert.window
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: alert.metric
          metricName: alert.metric
          metricNamespace: 'Microsoft.EventGrid/systemTopics'
          operator: 'GreaterThan'
          threshold: alert.threshold
          timeAggregation: 'Total'
        }
      ]
    }
    actions: [{ actionGroupId: pager.id }]
  }
}]

// Invocations that failed: the webhook answering 5xx, or a trigger raising.
resource functionFailures 'Microsoft.Insights/metricAlerts@2018-03-01' = {
  name: 'chat-archive-function-failures'
  location: 'global'
  tags: tags
  properties: {
    description: 'Function invocations failed (answered 5xx or raised). Event Grid retries them; look at the exceptions in Application Insights.'
    severity: 2
    enabled: true
    scopes: [appInsightsId]
    evaluationFrequency: 'PT5M'
    windowSize: 'PT15M'
    criteria: {
      'odata.type': 'Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria'
      allOf: [
        {
          criterionType: 'StaticThresholdCriterion'
          name: 'failed'
          metricName: 'requests/failed'
          metricNamespace: 'microsoft.insights/components'
          operator: 'GreaterThan'
          threshold: 0
          timeAggregation: 'Count'
        }
      ]
    }
    actions: [{ actionGroupId: pager.id }]
  }
}

// The archive's own metrics (customMetrics) and warnings (traces), queried every 15 minutes.
var logAlerts = [
  {
    name: 'quarantined'
    severity: 2
    description: 'Events were quarantined: kept, but not as chat records. The reason is in each blob under quarantine/.'
    query: 'customMetrics | where name == "archive.quarantined" | summarize measured = sum(valueSum)'
    threshold: 0
    window: 'PT15M'
  }
  {
    name: 'lag'
    severity: 2
    description: 'The archive is behind: the 95th percentile of archive time minus event time is above ${lagP95Seconds} s.'
    query: 'customMetrics | where name == "archive.lag" and valueCount > 0 | summarize measured = percentile(valueSum / valueCount, 95)'
    threshold: lagP95Seconds
    window: 'PT15M'
  }
  // The daily seal_threads timer refused to seal a thread: a blob its last seal covered is
  // gone or changed, or that seal does not verify. As grave as a dropped event: the archive
  // no longer proves itself. An hour's window, so a warning ingested late is still seen.
  {
    name: 'altered'
    severity: 0
    description: 'A thread was altered since its last seal or the last checkpoint, and was not sealed or checkpointed over: the trace names it. Find what changed with archiver verify --checkpoint latest (docs: Seals and proof).'
    query: 'traces | where message startswith "Not sealed, altered since its last seal" or message startswith "Not checkpointed, altered since the last checkpoint" or message startswith "Verified, altered since its last seal" | summarize measured = count()'
    threshold: 0
    window: 'PT1H'
  }
  // A job message on the jobs queue failed maxDequeueCount times (host.json), so the host
  // moved it to the poison queue, and report_poisoned_job logged it: the threads of that
  // batch were not sealed, disposed of or transcribed. Nothing retries it by itself. An
  // hour's window, as for altered, so a warning ingested late is still seen.
  {
    name: 'job-poisoned'
    severity: 1
    description: 'A job (seal, dispose, transcribe, verify or checkpoint a batch of threads) failed on every delivery and was given up on: the trace names the job and its threads, and the audit trail records it. Find why in the exceptions of run_job, fix it, and run the job again (docs: Operations, Poisoned jobs).'
    query: 'traces | where message startswith "Job poisoned:" | summarize measured = count()'
    threshold: 0
    window: 'PT1H'
  }
]

resource metricQuery 'Microsoft.Insights/scheduledQueryRules@2023-03-15-preview' = [for alert in logAlerts: {
  name: 'chat-archive-${alert.name}'
  location: location
  tags: tags
  properties: {
    description: alert.description
    severity: alert.severity
    enabled: true
    scopes: [appInsightsId]
    evaluationFrequency: 'PT15M'
    windowSize: alert.window
    criteria: {
      allOf: [
        {
          query: alert.query
          timeAggregation: 'Maximum'
          metricMeasureColumn: 'measured'
          operator: 'GreaterThan'
          threshold: alert.threshold
          failingPeriods: {
            numberOfEvaluationPeriods: 1
            minFailingPeriodsToAlert: 1
          }
        }
      ]
    }
    actions: {
      actionGroups: [pager.id]
    }
  }
}]

// One page to look at: deliveries, lag and outcomes.
var workbook = {
  version: 'Notebook/1.0'
  items: [
    {
      type: 1
      content: { json: '## Chat archive\nEvent Grid deliveries to the archiver, how far behind it is, and what became of each event.' }
    }
    {
      type: 10
      content: {
        chartId: 'deliveries'
        version: 'MetricsItem/2.0'
        size: 0
        chartType: 2
        resourceType: 'microsoft.eventgrid/systemtopics'
        metricScope: 0
        resourceIds: [systemTopicId]
        timeContext: { durationMs: 86400000 }
        metrics: [
          { namespace: 'microsoft.eventgrid/systemtopics', metric: 'microsoft.eventgrid/systemtopics--DeliverySuccessCount', aggregation: 1 }
          { namespace: 'microsoft.eventgrid/systemtopics', metric: 'microsoft.eventgrid/systemtopics--DeliveryAttemptFailCount', aggregation: 1 }
          { namespace: 'microsoft.eventgrid/systemtopics', metric: 'microsoft.eventgrid/systemtopics--DeadLetteredCount', aggregation: 1 }
          { namespace: 'microsoft.eventgrid/systemtopics', metric: 'microsoft.eventgrid/systemtopics--DroppedEventCount', aggregation: 1 }
        ]
        title: 'Deliveries'
      }
    }
    {
      type: 3
      content: {
        version: 'KqlItem/1.0'
        query: 'customMetrics | where name == "archive.lag" and valueCount > 0 | summarize p50 = percentile(valueSum / valueCount, 50), p95 = percentile(valueSum / valueCount, 95) by bin(timestamp, 5m) | render timechart'
        size: 0
        title: 'Archive lag (s)'
        timeContext: { durationMs: 86400000 }
        queryType: 0
        resourceType: 'microsoft.insights/components'
      }
    }
    {
      type: 3
      content: {
        version: 'KqlItem/1.0'
        query: 'customMetrics | where name in ("archive.versions", "archive.duplicates", "archive.quarantined", "archive.ignored", "archive.refused", "archive.storage_failures") | summarize total = sum(valueSum) by name, bin(timestamp, 15m) | render columnchart'
        size: 0
        title: 'Outcomes'
        timeContext: { durationMs: 86400000 }
        queryType: 0
        resourceType: 'microsoft.insights/components'
      }
    }
  ]
}

resource dashboard 'Microsoft.Insights/workbooks@2023-06-01' = {
  name: guid(resourceGroup().id, 'chat-archive-workbook')
  location: location
  tags: tags
  kind: 'shared'
  properties: {
    displayName: 'Chat archive'
    category: 'workbook'
    sourceId: appInsightsId
    serializedData: string(workbook)
  }
}

output actionGroupId string = pager.id
output workbookId string = dashboard.id
