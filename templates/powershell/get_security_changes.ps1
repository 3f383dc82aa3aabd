<#
Change events from a Windows event log, in a time window, in batches, with the logons
of the sessions that made them — for `adsuite audit changes`.

Reads with one XPath query (event ids, TimeCreated between StartTime and EndTime, record
id after AfterRecordId, and optionally EventData ObjectType), oldest first, at most
MaxEvents; a caller that gets MaxEvents back asks again after the highest RecordId.
For the distinct SubjectLogonId values of the batch it then reads the 4624 logons that
opened those sessions (TargetLogonId, from LogonLookbackHours before StartTime to
EndTime, 20 ids per query), so the caller learns the client address:port of each
session. Values arrive only as parameters: times are parsed as UTC and written back in
one fixed format, ids as integers, names as escaped XPath string literals.
AttributeValue (5136) never leaves the host: it may hold any value, secrets included.
Written for Windows PowerShell 5.1.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)]
    [int[]]$EventIds,

    [Parameter(Mandatory = $true)]
    [string]$StartTime,

    [Parameter(Mandatory = $true)]
    [string]$EndTime,

    [long]$AfterRecordId = 0,

    [ValidateRange(1, 100000)]
    [int]$MaxEvents = 1000,

    [string[]]$ObjectTypes = @(),

    [ValidateRange(0, 720)]
    [int]$LogonLookbackHours = 12,

    [string]$LogName = 'Security'
)

$LogonsPerQuery = 20
$Dropped = @('AttributeValue')
$NoSession = @('', '-', '0x0', '0x3e7', '0x3e4', '0x3e5')

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

function ConvertTo-SystemTime {
    param([string]$Text, [int]$MinusHours = 0)
    $styles = [Globalization.DateTimeStyles]::AdjustToUniversal -bor [Globalization.DateTimeStyles]::AssumeUniversal
    $invariant = [Globalization.CultureInfo]::InvariantCulture
    $moment = [datetime]::Parse($Text, $invariant, $styles).AddHours(-$MinusHours)
    return "'" + $moment.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", $invariant) + "'"
}

function Read-Events {
    param([string]$Filter, [int]$Limit)
    try {
        return @(Get-WinEvent -LogName $LogName -FilterXPath $Filter -Oldest -MaxEvents $Limit -ErrorAction Stop)
    }
    catch {
        if ($_.FullyQualifiedErrorId -like 'NoMatchingEventsFound*') {
            return @()
        }
        throw
    }
}

function ConvertTo-Item {
    param($Record, [string]$Kind)
    $data = @{}
    foreach ($item in ([xml]$Record.ToXml()).Event.EventData.Data) {
        $name = [string]$item.Name
        if ($Dropped -notcontains $name) {
            $data[$name] = [string]$item.'#text'
        }
    }
    [pscustomobject]@{
        Kind        = $Kind
        RecordId    = [long]$Record.RecordId
        EventId     = [int]$Record.Id
        TimeCreated = $Record.TimeCreated.ToUniversalTime().ToString('o')
        Computer    = [string]$Record.MachineName
        Data        = $data
    }
}

$start = ConvertTo-SystemTime -Text $StartTime
$end = ConvertTo-SystemTime -Text $EndTime
$window = "TimeCreated[@SystemTime>=$start and @SystemTime<=$end]"
$idTerms = $EventIds | ForEach-Object { 'EventID=' + [int]$_ }
$system = '(' + ($idTerms -join ' or ') + ') and EventRecordID > ' + [long]$AfterRecordId + " and $window"
$filter = "*[System[$system]]"
if ($ObjectTypes.Count -gt 0) {
    $typeTerms = $ObjectTypes | ForEach-Object { "Data[@Name='ObjectType']=" + (ConvertTo-XPathLiteral -Value $_) }
    $filter += ' and *[EventData[' + ($typeTerms -join ' or ') + ']]'
}

$events = Read-Events -Filter $filter -Limit $MaxEvents
$sessions = New-Object System.Collections.Generic.List[string]
foreach ($entry in $events) {
    $item = ConvertTo-Item -Record $entry -Kind 'event'
    $item
    $session = [string]$item.Data['SubjectLogonId']
    if ($NoSession -notcontains $session -and -not $sessions.Contains($session)) {
        $sessions.Add($session)
    }
}

$since = ConvertTo-SystemTime -Text $StartTime -MinusHours $LogonLookbackHours
for ($index = 0; $index -lt $sessions.Count; $index += $LogonsPerQuery) {
    $chunk = $sessions.GetRange($index, [Math]::Min($LogonsPerQuery, $sessions.Count - $index))
    $logonTerms = $chunk | ForEach-Object { "Data[@Name='TargetLogonId']=" + (ConvertTo-XPathLiteral -Value $_) }
    $logonFilter = "*[System[EventID=4624 and TimeCreated[@SystemTime>=$since and @SystemTime<=$end]]]"
    $logonFilter += ' and *[EventData[' + ($logonTerms -join ' or ') + ']]'
    foreach ($logon in (Read-Events -Filter $logonFilter -Limit 100000)) {
        ConvertTo-Item -Record $logon -Kind 'logon'
    }
}
