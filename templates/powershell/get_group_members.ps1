<#
The direct members (distinguished names) of the given groups, read on a domain
controller with the ActiveDirectory module. One object per group found; a group that
does not exist is a non-terminating error naming it, and the other groups still come
back; any other failure ends the script. Written for Windows PowerShell 5.1.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)]
    [string[]]$Groups,

    [string]$Server
)

Import-Module -Name ActiveDirectory -ErrorAction Stop

$common = @{ Properties = @('member', 'objectSid'); ErrorAction = 'Stop' }
if ($Server) {
    $common['Server'] = $Server
}

foreach ($name in $Groups) {
    try {
        $group = Get-ADGroup -Identity $name @common
    }
    catch [Microsoft.ActiveDirectory.Management.ADIdentityNotFoundException] {
        Write-Error -Message "group not found: $name" -ErrorId 'AdsuiteGroupNotFound' -Category ObjectNotFound -TargetObject $name
        continue
    }
    [pscustomobject]@{
        Group             = $name
        DistinguishedName = [string]$group.DistinguishedName
        Sid               = [string]$group.objectSid
        Members           = @($group.member | ForEach-Object { [string]$_ })
    }
}
