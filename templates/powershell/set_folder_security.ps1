<#
Sets parts of one folder's security descriptor from SDDL, for adsuite's file_acl on
local paths. Sections names the parts to set: Owner, Access (the DACL, with its
protection) and Audit (the SACL); every other part stays as it is.

The folder's whole current descriptor is read, SACL included (Set-Acl writes every
part, and a descriptor read without its SACL would clear the folder's audit rules),
the named sections are replaced from the SDDL, and Set-Acl writes it back; Set-Acl
enables SeRestorePrivilege, so the owner may be an account other than the caller.
Windows then recomputes the inherited ACEs of an unprotected DACL from the parent
folder, and passes inheritable ACEs on to the folders and files below.

Reading and writing a SACL needs SeSecurityPrivilege ("Manage auditing and security
log"): without it the script stops with the error AdsuiteNoSecurityPrivilege, which
names the account and the privilege. Returns Path and the folder's Descriptor
afterwards (binary, base64). Values arrive only as parameters. Written for Windows
PowerShell 5.1.
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory = $true)]
    [string]$Path,

    [Parameter(Mandatory = $true)]
    [string]$Sddl,

    [Parameter(Mandatory = $true)]
    [ValidateSet('Owner', 'Access', 'Audit')]
    [string[]]$Sections
)

$ErrorActionPreference = 'Stop'

function Test-PrivilegeMissing {
    param([System.Exception]$Exception)
    for ($inner = $Exception; $null -ne $inner; $inner = $inner.InnerException) {
        if ($inner -is [System.Security.AccessControl.PrivilegeNotHeldException]) {
            return $true
        }
    }
    return $false
}

function New-AdsuiteError {
    param([string]$Message, [string]$ErrorId, [System.Management.Automation.ErrorCategory]$Category)
    $exception = New-Object -TypeName System.InvalidOperationException -ArgumentList $Message
    return New-Object -TypeName System.Management.Automation.ErrorRecord -ArgumentList $exception, $ErrorId, $Category, $Path
}

if (-not (Test-Path -LiteralPath $Path -PathType Container)) {
    $missing = New-AdsuiteError -Message "no folder $Path" -ErrorId 'AdsuiteNoSuchFolder' -Category ObjectNotFound
    $PSCmdlet.ThrowTerminatingError($missing)
}

try {
    $acl = Get-Acl -LiteralPath $Path -Audit
    $parts = [System.Security.AccessControl.AccessControlSections]($Sections -join ', ')
    $acl.SetSecurityDescriptorSddlForm($Sddl, $parts)
    Set-Acl -LiteralPath $Path -AclObject $acl
    $after = Get-Acl -LiteralPath $Path -Audit
}
catch {
    if (Test-PrivilegeMissing -Exception $_.Exception) {
        $account = [System.Security.Principal.WindowsIdentity]::GetCurrent().Name
        $message = "setting permissions with their audit rules (the SACL) needs SeSecurityPrivilege ('Manage auditing and security log'), which $account does not hold on $env:COMPUTERNAME: grant it to the account, or use one in the host's Administrators group"
        $denied = New-AdsuiteError -Message $message -ErrorId 'AdsuiteNoSecurityPrivilege' -Category PermissionDenied
        $PSCmdlet.ThrowTerminatingError($denied)
    }
    throw
}

[pscustomobject]@{
    Path       = $Path
    Descriptor = [Convert]::ToBase64String($after.GetSecurityDescriptorBinaryForm())
}
