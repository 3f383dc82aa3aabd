<#
Logon events of the given accounts from a Windows event log, for adsuite's usage log.

Reads with one XPath query (event ids, accounts, record id), oldest first, at most
MaxEvents, so a caller collects incrementally: pass the highest RecordId it stored as
AfterRecordId next time. Accounts are matched against TargetUserName and
SubjectUserName exactly (the event log's XPath has no starts-with), so pass every form
that appears in the events: 'admin' and, for 4769, 'admin@GROUP.EXAMPLE.COM'.
Values arrive only as parameters; each becomes an escaped XPath string literal.
Written for Windows PowerShell 5.1.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)]
    [int[]]$EventIds,

    [Parameter(Mandatory = $true)]
    [string[]]$Accounts,

    [long]$AfterRecordId = 0,

    [ValidateRange(1, 100000)]
    [int]$MaxEvents = 5000,

    [string]$LogName = 'Security'
)

function ConvertTo-XPathLiteral {
    param([string]$Value)
    if (-not $Value.Contains("'")) {
        return "'" + $Value + "'"
    }
    if (-not $Value.Contains('"')) {
        return '"' + $Value + '"'
    }
    # The event log's XPath subset has no concat(): such a value cannot be matched
    throw "cannot filter the event log on a value holding both quote marks: $Value"
}

$idTerms = $EventIds | ForEach-Object { 'EventID=' + [int]$_ }
$accountTerms = foreach ($account in $Accounts) {
    $literal = ConvertTo-XPathLiteral -Value $account
    "Data[@Name='TargetUserName']=$literal or Data[@Name='SubjectUserName']=$literal"
}
$system = '(' + ($idTerms -join ' or ') + ') and EventRecordID > ' + [long]$AfterRecordId
$filter = "*[System[$system]] and *[EventData[" + ($accountTerms -join ' or ') + ']]'

try {
    $events = @(Get-WinEvent -LogName $LogName -FilterXPath $filter -Oldest -MaxEvents $MaxEvents -ErrorAction Stop)
}
catch {
    if ($_.FullyQualifiedErrorId -like 'NoMatchingEventsFound*') {
        return
    }
    throw
}

foreach ($event in $events) {
    $data = @{}
    foreach ($item in ([xml]$event.ToXml()).Event.EventData.Data) {
        $data[[string]$item.Name] = [string]$item.'#text'
    }
    [pscustomobject]@{
        RecordId    = [long]$event.RecordId
        EventId     = [int]$event.Id
        TimeCreated = $event.TimeCreated.ToUniversalTime().ToString('o')
        Computer    = [string]$event.MachineName
        Data        = $data
    }
}
